/*
 * SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 dpdk-vhostfix authors
 *
 * The guest RX notification protocol, split ring with EVENT_IDX, as a Promela
 * model: a second, independent form of the race explorer's proof (test/race),
 * sequentially consistent only. Compile with -DLEGACY for QEMU's algorithm
 * before the fix (enable, check room once more, give up), without it for ours
 * (enable naming the index the decision was based on, recheck against it);
 * -DNO_RECHECK drops our recheck, to show the model notices.
 *
 * Indexes are bytes: wrap-around is part of the model (INIT starts near 255).
 */

#ifndef NEED
#define NEED 2          /* guest buffers one packet needs */
#endif
#ifndef PKTS
#define PKTS 2          /* packets the device delivers */
#endif
#ifndef RING
#define RING 4          /* ring size */
#endif
#ifndef BUDGET
#define BUDGET 6        /* buffers the guest posts in the whole run */
#endif
#define INIT 253        /* start index, so the run crosses the 8-bit wrap */

/* x modulo 256 for x in [-512, 511]: Promela has no casts, expressions are ints. */
#define MOD(x) (((x) + 512) % 256)
/* vring_need_event: notify iff event lies in [old, new), modulo 256. */
#define NEED_EVENT(ev, nw, old) (MOD((nw) - (ev) - 1) < MOD((nw) - (old)))

byte avail_idx = INIT + 1; /* avail->idx, written by the driver: one buffer posted */
byte used_idx = INIT;      /* used->idx, written by the device */
byte avail_event = INIT;   /* written by the device: kick me past this */
byte used_event = INIT;    /* written by the driver: interrupt me past this */
bool kick;                 /* the kick eventfd */
bool irq;                  /* the call eventfd */

/* Observed by the monitor. */
byte dev_last_avail = INIT;
bool dev_waiting;
byte drv_last_used = INIT;
bool drv_waiting;

active proctype device()
{
	byte shadow, mark, sent, signalled = INIT;

	do
	:: sent == PKTS -> break
	:: else ->
retry:
		shadow = avail_idx;
		if
		:: MOD(shadow - dev_last_avail) >= NEED ->
			dev_last_avail = dev_last_avail + NEED;
			used_idx = used_idx + NEED;
			sent++;
			/* full barrier, then the driver's interrupt request */
			if
			:: NEED_EVENT(used_event, used_idx, signalled) -> irq = true
			:: else -> skip
			fi;
			signalled = used_idx
		:: else ->
#ifdef LEGACY
			mark = avail_idx;        /* a fresh read, named in the request */
			avail_event = mark;
			/* full barrier, one more look, give up if still short */
			if
			:: MOD(avail_idx - dev_last_avail) >= NEED -> goto retry
			:: else -> skip
			fi;
#else
			avail_event = shadow;    /* name what the decision was based on */
#ifndef NO_RECHECK
			/* full barrier, then: did the guest publish since? */
			if
			:: avail_idx != shadow -> goto retry
			:: else -> skip
			fi;
#endif
#endif
			dev_waiting = true;
			kick;
			kick = false;
			dev_waiting = false
		fi
	od
}

active proctype driver()
{
	byte posted = 1, free = RING - 1, got, n, received;

	do
	:: received >= PKTS * NEED -> break
	:: else ->
		/* NAPI poll: take what the device returned */
		got = MOD(used_idx - drv_last_used);
		drv_last_used = drv_last_used + got;
		received = received + got;
		free = free + got;
		/* refill a batch of one or two, while the budget lasts */
		if
		:: posted < BUDGET && free > 0 -> n = 1
		:: posted + 1 < BUDGET && free > 1 -> n = 2
		:: else -> n = 0
		fi;
		if
		:: n > 0 ->
			avail_idx = avail_idx + n;
			posted = posted + n;
			free = free - n;
			/* full barrier, then the device's kick request */
			if
			:: NEED_EVENT(avail_event, avail_idx, MOD(avail_idx - n)) -> kick = true
			:: else -> skip
			fi
		:: else -> skip
		fi;
		if
		:: got == 0 && n == 0 ->
			/* napi_complete: enable callbacks, barrier, recheck */
			used_event = drv_last_used;
			if
			:: used_idx != drv_last_used -> skip
			:: else ->
				drv_waiting = true;
				irq;
				irq = false;
				drv_waiting = false
			fi
		:: else -> skip
		fi
	od
}

/* When nothing can move any more: no lost kick, no lost interrupt. */
active proctype monitor()
{
end:	timeout ->
		assert(!(dev_waiting && MOD(avail_idx - dev_last_avail) >= NEED && !kick));
		assert(!(drv_waiting && used_idx != drv_last_used && !irq))
}
