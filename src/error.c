/* SPDX-License-Identifier: MIT */
/*
 * Version and error text: the only words the library ever produces,
 * returned or written into the caller's buffer, never printed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

SHMQ_API const char *shmq_version(void)
{
	return SHMQ_VERSION_STRING;
}

SHMQ_API const char *shmq_strerror(int err)
{
	const char *s;

	if (err < 0)
		err = -err;
	switch (err) {
	case 0:
		return "success";
	case EAGAIN:
		return "would block";
	case ETIMEDOUT:
		return "timed out";
	case EMSGSIZE:
		return "message too large for the channel, or for the buffer";
	case EPIPE:
		return "end of stream: the peer closed";
	case ECONNRESET:
		return "peer died";
	case ECONNABORTED:
		return "peer abandoned the channel";
	case ESHUTDOWN:
		return "this end has shut down sending";
	case EBADMSG:
		return "channel corrupted";
	case EBUSY:
		return "taken by a live process (both ends of a persistent channel, "
		       "a topic's publisher)";
	case EACCES:
		return "permission denied";
	case EPERM:
		return "operation not permitted";
	case ENOENT:
		return "no such segment";
	case EEXIST:
		return "segment already exists";
	case EIDRM:
		return "segment was removed (by shmq rm or ipcrm): nobody can find it any more";
	case ECHILD:
		return "this handle belongs to the process that opened it (before fork): open one of your own";
	case EPROTO:
		return "not a shmq segment";
	case EPROTONOSUPPORT:
		return "incompatible shmq segment version";
	case EPROTOTYPE:
		return "wrong kind of shmq segment";
	case ENOBUFS:
		return "the reserved, uncommitted records fill the ring: commit them first";
	case EADDRINUSE:
		return "key collision: the segment belongs to another address";
	case EINTR:
		return "interrupted by a signal";
	case EXDEV:
		return "the peer is in another network namespace: an event loop's "
		       "descriptor cannot be woken from there";
	}
	s = strerrordesc_np(err);
	return s ? s : "unknown error";
}

/* One line saying why, in the caller's buffer (if it gave one). */
__attribute__((format(printf, 2, 3)))
void shmq_explain(const struct shmq_options *o, const char *fmt, ...)
{
	va_list ap;

	if (!o || !o->errbuf || !o->errbuf_size)
		return;
	va_start(ap, fmt);
	vsnprintf(o->errbuf, o->errbuf_size, fmt, ap);
	va_end(ap);
}
