// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * TLS capture, opt-in per agent: probes on OpenSSL's SSL_write,
 * SSL_write_ex, SSL_read and SSL_read_ex give the status class of requests
 * that travel encrypted. The daemon attaches them, per process, to the
 * libssl each opted-in agent process has mapped; the mmap hooks here tell
 * it when such a process maps new code (a library loaded by dlopen, as
 * Python's ssl module does).
 *
 * An entry probe records the call in the task's `tls_calls` entry; the
 * socket hooks of net.bpf.c, which run inside the call on the same task
 * (or, with a memory BIO as in Node.js, just before SSL_read and just after
 * SSL_write), tie it to its socket and do the pairing (tls_on_socket());
 * the return probe of SSL_read reads the decrypted response. A probe hit costs a trap
 * into the kernel (microseconds): a request costs three (SSL_write entry,
 * SSL_read entry and return).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#define SW_TLS_DEFINE
#include "request.bpf.h"

#define PROT_EXEC 4

/* The current task's OpenSSL call state, if it is tracked. */
static __always_inline struct sw_tls_call *task_calls(void)
{
	struct task_struct *t = bpf_get_current_task_btf();

	struct sw_tls_call *c;

	if (!sw_task_of(t))
		return NULL;
	c = bpf_task_storage_get(&tls_calls, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (c)
		c->probed = 1;
	return c;
}

/*
 * SSL_write(SSL *, const void *buf, int num) and SSL_write_ex(..., size_t
 * *written). The next send of TLS records by this task carries its bytes:
 * inside the call, or just after it with a memory BIO.
 */
SEC("uprobe")
int BPF_KPROBE(sw_ssl_write, void *ssl, const void *buf, __u64 num)
{
	struct sw_tls_call *c = task_calls();

	if (c) {
		c->wssl = (__u64)ssl;
		c->wbuf = (__u64)buf;
		c->wlen = (int)num; /* an int for SSL_write, a size_t for SSL_write_ex */
		c->wstart_ns = bpf_ktime_get_ns();
		c->wpend = 1;
	}
	return 0;
}

/*
 * Return of SSL_write, for memory-BIO programs only (Node.js): a write that
 * fails (mostly: the handshake is not done yet, the program retries later)
 * produced no bytes, and the next TLS send on the task, perhaps another
 * connection's, must not be taken for its own. A write that succeeded has
 * its records sent after this return, when the program may have freed its
 * plaintext: with LLM capture on, the plaintext is copied now (as much as
 * a request hands over, SW_LLM_REQ_BUDGET) for the send to hand over.
 */
SEC("uretprobe")
int BPF_KRETPROBE(sw_ssl_write_ret, long ret)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct sw_tls_wcopy *w;
	struct sw_tls_call *c;
	__u32 n;

	if (!t->bpf_storage)
		return 0;
	c = bpf_task_storage_get(&tls_calls, t, 0, 0);
	if (!c)
		return 0;
	if ((int)ret <= 0) {
		c->wpend = 0;
		return 0;
	}
	if (!llm_capture || !c->wpend || !c->wlen)
		return 0;
	w = bpf_task_storage_get(&tls_wcopy, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!w)
		return 0;
	n = c->wlen < SW_LLM_REQ_BUDGET ? c->wlen : SW_LLM_REQ_BUDGET;
	barrier_var(n);
	if (n > SW_LLM_REQ_BUDGET || bpf_probe_read_user(w->data, n, (const void *)c->wbuf)) {
		w->len = 0;
		return 0;
	}
	w->ssl = c->wssl;
	w->buf = c->wbuf;
	w->len = n;
	return 0;
}

/* Records an SSL_read in progress: its first receive names its socket. */
static __always_inline struct sw_tls_call *enter_read(__u64 ssl, __u64 buf)
{
	struct sw_tls_call *c = task_calls();

	if (!c)
		return NULL;
	c->ssl = ssl;
	c->buf = buf;
	c->readbytes = 0;
	c->ex = 0;
	c->reading = 1;
	c->armed = 1;
	return c;
}

/* SSL_read(SSL *, void *buf, int num): returns the bytes read. */
SEC("uprobe")
int BPF_KPROBE(sw_ssl_read, void *ssl, void *buf)
{
	enter_read((__u64)ssl, (__u64)buf);
	return 0;
}

/* SSL_read_ex(SSL *, void *buf, size_t num, size_t *readbytes): returns 1 on success. */
SEC("uprobe")
int BPF_KPROBE(sw_ssl_read_ex, void *ssl, void *buf, __u64 num, __u64 *readbytes)
{
	struct sw_tls_call *c = enter_read((__u64)ssl, (__u64)buf);

	if (c) {
		c->ex = 1;
		c->readbytes = (__u64)readbytes;
	}
	return 0;
}

/*
 * Return of SSL_read or SSL_read_ex: if response bytes of a client request
 * arrived during the call (tls_on_socket() moved the request to
 * `tls_pending`) and the call returns data, that data starts the response.
 */
SEC("uretprobe")
int BPF_KRETPROBE(sw_ssl_read_ret, long ret)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct sw_tls_key key = {};
	struct sw_tls_call *c;
	struct sw_sock *req;
	__u32 status;
	__u64 n = 0;

	if (!t->bpf_storage)
		return 0;
	c = bpf_task_storage_get(&tls_calls, t, 0, 0);
	if (!c || !c->reading)
		return 0;
	c->reading = 0;
	c->armed = 0;
	/* Both return an int: the upper half of the register is not theirs. */
	if (c->ex) {
		if ((int)ret != 1 || bpf_probe_read_user(&n, sizeof(n), (const void *)c->readbytes))
			return 0;
	} else if ((int)ret > 0) {
		n = (int)ret;
	}
	if (!n)
		return 0; /* no data yet (a partial record): the request stays pending */
	if (llm_capture)
		llm_response(c->ssl, t->tgid, c->buf, n);
	status = n >= 12 ? final_status(c->buf, n) : SW_STATUS_UNKNOWN;
	key.ssl = c->ssl;
	key.tgid = t->tgid;
	req = bpf_map_lookup_elem(&tls_pending, &key);
	if (!req)
		return 0;
	if (status == SW_STATUS_INTERIM) {
		/* 100 Continue, 103 Early Hints: the request waits for its final response. */
		req->flags |= SW_SOCK_INTERIM;
		return 0;
	}
	count_request(req, status, bpf_ktime_get_ns() - req->req_ns);
	bpf_map_delete_elem(&tls_pending, &key);
	return 0;
}

/*
 * mmap of executable file pages by a task of an agent whose TLS capture is
 * on or not yet decided: the daemon looks for a newly mapped libssl once
 * the call has returned. The daemon attaches the syscalls/sys_*_mmap
 * tracepoints, which only mmap calls pay for; where tracefs is absent and
 * cannot be mounted, it attaches the tp_btf sys_enter/sys_exit twins, which
 * every syscall pays for (one compare, one load).
 */
static __always_inline bool agent_wants_tls(struct sw_task *st)
{
	__u32 slot = st->sys.slot;
	__u32 *mode = bpf_map_lookup_elem(&agent_tls, &slot);

	return mode && *mode != SW_TLS_OFF;
}

/* The mmap syscall's number on this architecture; set by the daemon. */
const volatile __u32 nr_mmap = ~0u;

static __always_inline int on_mmap_enter(__u64 prot, long fd)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct sw_task *st = sw_task_of(t);
	struct sw_tls_call *c;

	if (!st || !(prot & PROT_EXEC) || fd < 0 || !agent_wants_tls(st))
		return 0;
	c = bpf_task_storage_get(&tls_calls, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (c)
		c->mmap = 1;
	return 0;
}

static __always_inline int on_mmap_exit(long ret)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct sw_tls_call *c;
	struct sw_task *st;
	struct sw_event *e;

	if (!t->bpf_storage)
		return 0;
	c = bpf_task_storage_get(&tls_calls, t, 0, 0);
	if (!c || !c->mmap)
		return 0;
	c->mmap = 0;
	st = sw_task_of(t);
	if (!st || (ret < 0 && ret > -4096))
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		sw_count(SW_CNT_RINGBUF_FULL);
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->type = SW_EV_MAP;
	e->pid = t->tgid;
	e->slot = st->sys.slot;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	/* Wake the daemon now: the process may call SSL_write within milliseconds. */
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_mmap")
int sw_mmap_enter(struct trace_event_raw_sys_enter *ctx)
{
	return on_mmap_enter(ctx->args[2], (long)ctx->args[4]);
}

SEC("tracepoint/syscalls/sys_exit_mmap")
int sw_mmap_exit(struct trace_event_raw_sys_exit *ctx)
{
	return on_mmap_exit(ctx->ret);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sw_mmap_enter_btf, struct pt_regs *regs, long id)
{
	if (id != nr_mmap)
		return 0;
	return on_mmap_enter(PT_REGS_PARM3_CORE_SYSCALL(regs),
			     (long)PT_REGS_PARM5_CORE_SYSCALL(regs));
}

/* Only a task whose mmap entry was marked above gets past the first load. */
SEC("tp_btf/sys_exit")
int BPF_PROG(sw_mmap_exit_btf, struct pt_regs *regs, long ret)
{
	return on_mmap_exit(ret);
}
