/*
 * Latency histogram: exact below 64 ns, then 32 buckets per power of two
 * (about 3% resolution), so percentiles cost no memory per sample.
 */
#include "loadgen.h"

#define HIST_LINEAR 64
#define HIST_SUB 32
#define HIST_SUB_BITS 5

static int hist_bucket(uint64_t ns)
{
	int m, i;

	if (ns < HIST_LINEAR)
		return (int)ns;
	m = 63 - __builtin_clzll(ns);
	i = HIST_LINEAR + (m - 6) * HIST_SUB + (int)((ns >> (m - HIST_SUB_BITS)) & (HIST_SUB - 1));
	return i < HIST_BUCKETS ? i : HIST_BUCKETS - 1;
}

/* The middle of bucket i, in nanoseconds. */
static double hist_value(int i)
{
	int k, m;
	double width, low;

	if (i < HIST_LINEAR)
		return i;
	k = i - HIST_LINEAR;
	m = k / HIST_SUB + 6;
	width = (double)(1ULL << (m - HIST_SUB_BITS));
	low = (double)(1ULL << m) + (k % HIST_SUB) * width;
	return low + width / 2;
}

void hist_add(struct hist *h, uint64_t ns)
{
	h->count[hist_bucket(ns)]++;
	h->n++;
}

void hist_merge(struct hist *into, const struct hist *from)
{
	for (int i = 0; i < HIST_BUCKETS; i++)
		into->count[i] += from->count[i];
	into->n += from->n;
}

double hist_quantile_us(const struct hist *h, double q)
{
	uint64_t rank, seen = 0;

	if (h->n == 0)
		return 0;
	/* The smallest latency with at least q of the samples at or below it. */
	rank = (uint64_t)(q * (double)h->n);
	if (rank >= h->n)
		rank = h->n - 1;
	for (int i = 0; i < HIST_BUCKETS; i++) {
		seen += h->count[i];
		if (seen > rank)
			return hist_value(i) / 1000.0;
	}
	return hist_value(HIST_BUCKETS - 1) / 1000.0;
}
