/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Shared by tools/bench/e2e_redirect.bpf.c and tools/bench_xdp.c. */
#ifndef VIPXDP_E2E_REDIRECT_H
#define VIPXDP_E2E_REDIRECT_H

#define E2E_MAX_TARGETS 4 /* a power of two */

#endif
