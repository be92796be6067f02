/*
 * craft NAME-HEX: make a shmq channel segment, complete and checksummed,
 * at a fresh private key, whose stored name is the bytes NAME-HEX says
 * (anything, escapes included); print its id.  The segment is left for
 * the caller to remove.  Its creator (this process) is then gone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>

#include "atomics.h"
#include "internal.h"
#include "kind.h"
#include "layout.h"

int main(int argc, char **argv)
{
	struct shmq_addr a = { .kind = SHMQ_ADDR_NAME, .shmid = -1 };
	size_t i, n;
	struct shmq_hdr *h;
	int id;

	if (argc != 2 || (n = strlen(argv[1]) / 2) >= sizeof(a.name))
		return 2;
	for (i = 0; i < n; i++) {
		unsigned v;

		if (sscanf(argv[1] + 2 * i, "%2x", &v) != 1)
			return 2;
		a.name[i] = (char)v;
	}
	id = shmget(IPC_PRIVATE, SHMQ_HDR_SIZE + 2 * 4096, 0600);
	if (id < 0 || (h = shmat(id, NULL, 0)) == (void *)-1)
		return 1;
	shmq_hdr_init(h, &a, 0600, SHMQ_KIND_CHANNEL, 0, 4096, 4096, SHMQ_HDR_SIZE + 8192);
	shmq_ring_format(&h->ring[0], (unsigned char *)h + SHMQ_HDR_SIZE, 4096, 0);
	shmq_ring_format(&h->ring[1], (unsigned char *)h + SHMQ_HDR_SIZE + 4096, 4096, 0);
	shmq_store_release(&h->state, SHMQ_STATE_READY);
	shmdt(h);
	printf("%d\n", id);
	return 0;
}
