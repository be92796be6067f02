/* open_and_wait ADDR: open a channel and wait (up to a minute) for a peer. */
#include "shmq.h"

int main(int argc, char **argv)
{
	struct shmq_options o = { 0 };
	shmq_t *q;

	if (argc < 2)
		return 2;
	o.open_timeout_ms = 60000;
	if (shmq_open(argv[1], &o, &q))
		return 1;
	shmq_close(q);
	return 0;
}
