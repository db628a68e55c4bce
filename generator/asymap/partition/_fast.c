/* asymap's compiled inner loops (optional: without this module, e.g. installed without a C
 * compiler, the callers run the same steps in numpy and get the same values).
 *
 * step: one transition of asymap.partition.order.search.
 *
 * Why: a transition is a dozen small numpy calls whose call overhead is most of their time (the
 * search makes ~11,700 of them on ResNet-152 / example16); here it is one call. The arithmetic is
 * the numpy path's, step for step: maxima and first-minimum argmins of the same doubles, so the
 * values and the cuts chosen are identical (tests/partition/test_order_fast.py compares both on
 * random instances and on real plans).
 *
 * step(fin, lk, ub, first, last, tr, f, pj, parent, si, merge) -> float | None
 *   fin   [L-1] double  the state's f[1:L] (the cuts a transition can take)
 *   lk    [L-1] double  the link's seconds at those cuts
 *   ub    double        values at or above it do not extend
 *   first, last [L+1] int64  order._band of the next board's table at the search's threshold
 *   tr    [L+1, L+1] double  the next board's table, transposed (tr[k, j] = seg[j, k])
 *   f, pj, parent [L+1]      the target state's arrays: written whole (merge = 0) or, where the
 *                            new value is smaller, updated in place (merge = 1)
 *   si    int                this state's index (the parent of the columns it sets)
 * Returns None (nothing written) when no cut is below ub (order.search skips the transition),
 * else the least of f[1:L] after the write (inf if L < 2): order.search keeps it per state, so
 * that "some cut is below ub" is one comparison, not a numpy reduction per state and level.
 *
 * pareto(points, order, keep): segments._pareto's scan. points [n, d] int64, order [n] int64 (the
 * rows by ascending sum, then lexicographically: segments._pareto's lexsort), keep [n] uint8
 * (written): 1 for each row that no row before it in ``order`` is <= in every column (of equal
 * rows the first in order stays). A row dominated by an earlier one is dominated by an earlier
 * kept one (<= is transitive), so only kept rows are compared, as the numpy blocks do.
 *
 * dominated_at(cyc, res, out): segments._Knapsack._dominated_at. cyc [n] int64, res [n, d] int64,
 * out [n] double (written): per option b, the fewest cycles of an option a != b with res[a] <=
 * res[b] in every kind and (res[b] not <= res[a], or a < b: of equal rows the first dominates);
 * inf if none. The options are scanned by ascending cycles (ties by index), so the first
 * dominator met is the answer and the scan stops there.
 *
 * reach_packed(pref, nt, top, guard, out): segments._reach_packed's two pointers. pref [n+2, nt]
 * uint64 (packed prefix sums, the last row a sentinel), out [n+1, nt] int64 (written): out[j, t]
 * the largest k with layers j..k-1 within the budget at candidate t. Sums wrap modulo 2**64 as
 * numpy's uint64 do (segments._packing says why that is exact).
 *
 * prefix_rows(rows, cols, pref, itemsize, K): segments._prefix_rows. rows [m, K], pref [>= n+1, K]
 * integers of ``itemsize`` bytes (4: int32, 8: int64 or uint64, added as uint64: the same bits
 * modulo 2**64), cols [n] int64: pref[i + 1] = pref[i] + rows[cols[i]], pref[0] as given.
 *
 * first_fit(pref, bud, nt, R, J, K, iters, out, itemsize): segments._first_monotone's binary
 * searches. pref [n1 * nt, R] integers (int32 or int64, ``itemsize``), bud [R] int64, J, K [P]
 * int64 (the segments), out [P] int64 (written): per segment the first candidate t at which
 * pref[K, t] - pref[J, t] <= bud in every column, nt if not even the last one; the same fixed
 * ``iters`` halvings as the numpy version (the sums only shrink as t grows).
 *
 * compose(fs, f1, n1, J, K, iters, out): segments._compose. fs, f1 [n1, n1] int64; out [P] int64:
 * min(fs[j, lo], f1[lo - 1, k] if lo > j) with lo the smallest m in [j, k] with fs[j, m] >=
 * f1[m, k], by the same fixed ``iters`` halvings.
 *
 * least_violation (inside repair): one step's scan of segments._repair. cur [4] (the chosen
 * rows' sum), sel [n, 4] (the chosen rows), over [4, n, K] (big - total, kind-major), safe [4]
 * doubles: the first (i * K + o) minimizing ((e0 + e1) + e2) + e3 with e_d = max((cur[d] -
 * sel[i, d]) + over[d, i, o], 0) / safe[d], numpy's order of the same operations.
 *
 * repair(big, arg, total, safe, n, K, steps) -> bool: segments._repair's whole local search. big
 * [n, K, 4], total, safe [4] doubles; arg [n] int64, switched in place. Per step: the excess of
 * each kind, max(cur - total, 0) / safe, added kind 0 to 3; done (True) when none is positive;
 * else the least_violation scan, given up (False) unless it beats that sum by 1e-12; then layer
 * i takes option o: cur = (cur - sel[i]) + big[i, o]. The same doubles as the numpy steps.
 *
 * lagrange_step(scaled, p, arg, sub, n, K, R) -> g: one multiplier step of segments.lagrange_bound.
 * scaled [n, K, R], p [R], sub [R] doubles, arg [n] int64 (arg and sub written): val[i, k] =
 * scaled[i, k, 0] * p[0] + ... + scaled[i, k, R-1] * p[R-1] added left to right (0.0 if R = 0),
 * arg[i] the first k minimizing val[i, k] (a NaN is the minimum, as numpy's argmin), g = the
 * val[i, arg[i]] added left to right over i, minus 1, sub[r] = the scaled[i, arg[i], r] added
 * left to right over i, minus 1. Every product and sum is rounded on its own (setup.py builds
 * with -ffp-contract=off: no fused multiply-add), so segments._lagrange_step's numpy ops in the
 * same order give the same doubles.
 *
 * band(s, thr, first, last, W): order._band. s [W, W] double, first, last [W] int64 (written): per
 * row j the first and the last k with s[j, k] <= thr and s[j, k] < inf; (W, -1) where none (a
 * NaN is neither, as in numpy's comparisons).
 *
 * next_slr(one, reach, out, n1, nt, plus): one step of segments.min_feasible_Ts' SLR composition.
 * one, reach, out [n1, nt] int64 (out written; it may be reach itself): out[j, t] =
 * one[min(reach[j, t] + plus, n1 - 1), t] (plus 0 or 1), numpy's np.take(one.ravel(), r * nt +
 * arange(nt)) in one pass, without the index arrays.
 *
 * lagrange_run(scaled, big, p, best_p, arg, budget, total, safe, n, K, R, iters, find) ->
 * (value, found): segments.lagrange_bound's loop for one SLR (or find = False) in one call:
 * lagrange_step, the best g so far (best_p: p then), stop once it is above 1e-9; with find, each
 * choice not met before is tried (the chosen rows of big [n, K, 4] summed per kind against
 * budget [4] int64, then up to the third one repair's search from it); a fitting choice ends it
 * (found 1: value is that step's g, p that step's multipliers, arg the choice); else
 * lagrange_update. found 0: value is the best g, best_p its multipliers.
 *
 * lagrange_update(p, sub, R, it): the multiplicative-weights update after it: p[r] *=
 * exp(min(max(sub[r], -4), 4) * (0.8 / sqrt(it + 1))) (the C library's exp, as Python's
 * math.exp), then p[r] /= p[0] + ... + p[R-1] (left to right).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

static int check(Py_buffer *b, Py_ssize_t n, Py_ssize_t item, const char *name)
{
    if (b->itemsize != item || b->len != n * item) {
        PyErr_Format(PyExc_ValueError, "_fast.step: %s has the wrong size or item type", name);
        return 0;
    }
    return 1;
}

/* The first r < m (m >= 1) minimizing max(row[r], a[r]), and that minimum: numpy's
 * ``np.maximum(row, a).argmin()`` for NaN-free rows (the tables hold seconds or inf). With SSE2
 * the minimum is found two lanes at a time and then its first position; max and min return one
 * of their operands, so the minimum found is exactly the first one's value. */
static Py_ssize_t argmin_of_max(const double *row, const double *a, Py_ssize_t m, double *out)
{
    Py_ssize_t r = 0;
    double best;
#ifdef __SSE2__
    if (m >= 4) {
        __m128d acc = _mm_max_pd(_mm_loadu_pd(row), _mm_loadu_pd(a));
        for (r = 2; r + 2 <= m; r += 2)
            acc = _mm_min_pd(acc, _mm_max_pd(_mm_loadu_pd(row + r), _mm_loadu_pd(a + r)));
        double lanes[2];
        _mm_storeu_pd(lanes, acc);
        best = lanes[0] < lanes[1] ? lanes[0] : lanes[1];
        for (; r < m; r++) {
            double v = row[r] > a[r] ? row[r] : a[r];
            if (v < best)
                best = v;
        }
        __m128d want = _mm_set1_pd(best);
        for (r = 0; r + 2 <= m; r += 2) {
            int hit = _mm_movemask_pd(_mm_cmpeq_pd(_mm_max_pd(_mm_loadu_pd(row + r), _mm_loadu_pd(a + r)), want));
            if (hit) {
                *out = best;
                return (hit & 1) ? r : r + 1;
            }
        }
        for (; r < m; r++) {
            double v = row[r] > a[r] ? row[r] : a[r];
            if (v == best) {
                *out = best;
                return r;
            }
        }
    }
#endif
    Py_ssize_t arg = 0;
    best = row[0] > a[0] ? row[0] : a[0];
    for (r = 1; r < m; r++) {
        double v = row[r] > a[r] ? row[r] : a[r];
        if (v < best) {
            best = v;
            arg = r;
        }
    }
    *out = best;
    return arg;
}

static PyObject *step(PyObject *self, PyObject *args)
{
    Py_buffer bfin, blk, bfirst, blast, btr, bf, bpj, bpar;
    double ub;
    long long si;
    int merge;
    PyObject *ret = NULL;
    if (!PyArg_ParseTuple(args, "y*y*dy*y*y*w*w*w*Lp", &bfin, &blk, &ub, &bfirst, &blast, &btr,
                          &bf, &bpj, &bpar, &si, &merge))
        return NULL;
    Py_ssize_t n = bfin.len / (Py_ssize_t)sizeof(double); /* L - 1 */
    Py_ssize_t L = n + 1, W = L + 1;
    if (!check(&bfin, n, 8, "fin") || !check(&blk, n, 8, "lk") || !check(&bfirst, W, 8, "first") ||
        !check(&blast, W, 8, "last") || !check(&btr, W * W, 8, "tr") || !check(&bf, W, 8, "f") ||
        !check(&bpj, W, 8, "pj") || !check(&bpar, W, 8, "parent"))
        goto done;
    {
        const double *fin = bfin.buf, *lk = blk.buf, *tr = btr.buf;
        const int64_t *first = bfirst.buf, *last = blast.buf;
        double *f = bf.buf;
        int64_t *pj = bpj.buf, *par = bpar.buf;
        Py_ssize_t r0 = -1, r1 = -1, r, c;
        /* a = max(fin, lk); the rows r0..r1-1 from the first to the last one below ub */
        for (r = 0; r < n; r++) {
            double a = fin[r] > lk[r] ? fin[r] : lk[r];
            if (a < ub) {
                if (r0 < 0)
                    r0 = r;
                r1 = r + 1;
            }
        }
        if (r0 < 0) {
            ret = Py_None;
            Py_INCREF(ret);
            goto done;
        }
        Py_ssize_t m = r1 - r0;
        double *a = malloc((size_t)m * sizeof(double));
        if (!a) {
            PyErr_NoMemory();
            goto done;
        }
        for (r = 0; r < m; r++) {
            double x = fin[r0 + r] > lk[r0 + r] ? fin[r0 + r] : lk[r0 + r];
            a[r] = x < ub ? x : INFINITY; /* cuts at or above ub do not extend */
        }
        /* the columns [c0, c1) the rows' bands can reach (row j of the table is cut j = r + 1) */
        int64_t c0 = INT64_MAX, c1 = INT64_MIN;
        for (r = r0 + 1; r < r1 + 1; r++) {
            if (first[r] < c0)
                c0 = first[r];
            if (last[r] > c1)
                c1 = last[r];
        }
        c1 += 1;
        if (!merge) {
            for (c = 0; c < W; c++) {
                f[c] = INFINITY;
                pj[c] = 0;
                par[c] = si;
            }
        }
        int lastdone = 0;
        for (c = (c0 < c1 ? c0 : c1); c < c1; c++) {
            double best;
            Py_ssize_t arg = argmin_of_max(tr + c * W + r0 + 1, a, m, &best);
            if (!merge || best < f[c]) {
                f[c] = best;
                pj[c] = arg + r0 + 1;
                par[c] = si;
            }
            if (c == L)
                lastdone = 1;
        }
        if (!lastdone) { /* the last column always: a plan's interval, even above ub */
            double best;
            Py_ssize_t arg = argmin_of_max(tr + L * W + r0 + 1, a, m, &best);
            if (!merge || best < f[L]) {
                f[L] = best;
                pj[L] = arg + r0 + 1;
                par[L] = si;
            }
        }
        free(a);
        double low = INFINITY;
        for (c = 1; c < L; c++)
            if (f[c] < low)
                low = f[c];
        ret = PyFloat_FromDouble(low);
    }
done:
    PyBuffer_Release(&bfin);
    PyBuffer_Release(&blk);
    PyBuffer_Release(&bfirst);
    PyBuffer_Release(&blast);
    PyBuffer_Release(&btr);
    PyBuffer_Release(&bf);
    PyBuffer_Release(&bpj);
    PyBuffer_Release(&bpar);
    return ret;
}

static PyObject *pareto(PyObject *self, PyObject *args)
{
    Py_buffer bp, bo, bk;
    Py_ssize_t d;
    PyObject *ret = NULL;
    if (!PyArg_ParseTuple(args, "y*y*w*n", &bp, &bo, &bk, &d))
        return NULL;
    Py_ssize_t n = bo.len / 8;
    if (d < 1 || !check(&bo, n, 8, "order") || !check(&bp, n * d, 8, "points") || !check(&bk, n, 1, "keep"))
        goto done;
    {
        const int64_t *pts = bp.buf, *order = bo.buf;
        unsigned char *keep = bk.buf;
        int64_t *kept = malloc((size_t)(n ? n : 1) * sizeof(int64_t));
        Py_ssize_t nk = 0, i, q, c;
        if (!kept) {
            PyErr_NoMemory();
            goto done;
        }
        memset(keep, 0, (size_t)n);
        for (i = 0; i < n; i++) {
            int64_t o = order[i];
            if (o < 0 || o >= n) {
                free(kept);
                PyErr_SetString(PyExc_ValueError, "_fast.pareto: order is not a permutation");
                goto done;
            }
            const int64_t *row = pts + o * d;
            int dominated = 0;
            for (q = 0; q < nk && !dominated; q++) {
                const int64_t *k = pts + kept[q] * d;
                for (c = 0; c < d && k[c] <= row[c]; c++)
                    ;
                dominated = c == d;
            }
            if (!dominated) {
                kept[nk++] = o;
                keep[o] = 1;
            }
        }
        free(kept);
        ret = Py_None;
        Py_INCREF(ret);
    }
done:
    PyBuffer_Release(&bp);
    PyBuffer_Release(&bo);
    PyBuffer_Release(&bk);
    return ret;
}

struct by_cycles {
    int64_t cyc;
    Py_ssize_t at;
};

static int cmp_by_cycles(const void *x, const void *y)
{
    const struct by_cycles *p = x, *q = y;
    if (p->cyc != q->cyc)
        return p->cyc < q->cyc ? -1 : 1;
    return p->at < q->at ? -1 : (p->at > q->at);
}

static PyObject *dominated_at(PyObject *self, PyObject *args)
{
    Py_buffer bc, br, bo;
    Py_ssize_t d;
    PyObject *ret = NULL;
    struct by_cycles *order = NULL;
    if (!PyArg_ParseTuple(args, "y*y*w*n", &bc, &br, &bo, &d))
        return NULL;
    Py_ssize_t n = bc.len / 8;
    if (d < 1 || !check(&bc, n, 8, "cyc") || !check(&br, n * d, 8, "res") || !check(&bo, n, 8, "out"))
        goto done;
    order = malloc(sizeof(struct by_cycles) * (n ? n : 1));
    if (!order) {
        PyErr_NoMemory();
        goto done;
    }
    {
        const int64_t *cyc = bc.buf, *res = br.buf;
        double *out = bo.buf;
        Py_ssize_t a, b, c, i;
        /* the options by ascending cycles: the first dominator met is one with the fewest */
        for (i = 0; i < n; i++) {
            order[i].cyc = cyc[i];
            order[i].at = i;
        }
        qsort(order, (size_t)n, sizeof(struct by_cycles), cmp_by_cycles);
        for (b = 0; b < n; b++) {
            const int64_t *rb = res + b * d;
            double best = INFINITY;
            for (i = 0; i < n; i++) {
                a = order[i].at;
                if (a == b)
                    continue;
                const int64_t *ra = res + a * d;
                for (c = 0; c < d && ra[c] <= rb[c]; c++)
                    ;
                if (c < d)
                    continue; /* a is not <= b everywhere */
                if (a > b) { /* a later row dominates only if b is not <= a (they differ) */
                    for (c = 0; c < d && rb[c] <= ra[c]; c++)
                        ;
                    if (c == d)
                        continue;
                }
                best = (double)cyc[a];
                break;
            }
            out[b] = best;
        }
        ret = Py_None;
        Py_INCREF(ret);
    }
done:
    free(order);
    PyBuffer_Release(&bc);
    PyBuffer_Release(&br);
    PyBuffer_Release(&bo);
    return ret;
}

static PyObject *reach_packed(PyObject *self, PyObject *args)
{
    Py_buffer bp, bo;
    Py_ssize_t nt;
    unsigned long long top, guard;
    PyObject *ret = NULL;
    if (!PyArg_ParseTuple(args, "y*nKKw*", &bp, &nt, &top, &guard, &bo))
        return NULL;
    Py_ssize_t n2 = nt > 0 ? bp.len / 8 / nt : 0, n1 = n2 - 1;
    if (nt < 1 || n2 < 1 || !check(&bp, n2 * nt, 8, "pref") || !check(&bo, n1 * nt, 8, "out"))
        goto done;
    {
        const uint64_t *pref = bp.buf;
        int64_t *out = bo.buf;
        int64_t *ptr = calloc((size_t)nt, sizeof(int64_t));
        Py_ssize_t j, t;
        if (!ptr) {
            PyErr_NoMemory();
            goto done;
        }
        for (j = 0; j < n1; j++) {
            for (t = 0; t < nt; t++) {
                int64_t p = ptr[t] > j ? ptr[t] : j;
                if (p < n1 - 1) { /* (a pointer that gets to n stops at the sentinel row) */
                    uint64_t lim = pref[j * nt + t] + (uint64_t)top;
                    while (p + 1 < n2 && ((lim - pref[(p + 1) * nt + t]) & (uint64_t)guard) == (uint64_t)guard)
                        p++;
                }
                ptr[t] = p;
                out[j * nt + t] = p;
            }
        }
        free(ptr);
        ret = Py_None;
        Py_INCREF(ret);
    }
done:
    PyBuffer_Release(&bp);
    PyBuffer_Release(&bo);
    return ret;
}

static PyObject *prefix_rows(PyObject *self, PyObject *args)
{
    Py_buffer br, bc, bp;
    Py_ssize_t item, K;
    PyObject *ret = NULL;
    if (!PyArg_ParseTuple(args, "y*y*w*nn", &br, &bc, &bp, &item, &K))
        return NULL;
    Py_ssize_t n = bc.len / 8;
    if ((item != 4 && item != 8) || br.itemsize != item || bp.itemsize != item || bc.itemsize != 8 || K < 1 ||
        br.len % (K * item) || (n + 1) * K * item > bp.len) {
        PyErr_SetString(PyExc_ValueError, "_fast.prefix_rows: wrong item types or sizes");
        goto done;
    }
    {
        const int64_t *cols = bc.buf;
        Py_ssize_t m = br.len / item / K, i, k;
        for (i = 0; i < n; i++) {
            int64_t c = cols[i];
            if (c < 0 || c >= m) {
                PyErr_SetString(PyExc_ValueError, "_fast.prefix_rows: row index out of range");
                goto done;
            }
            if (item == 8) {
                const uint64_t *src = (const uint64_t *)br.buf + c * K;
                uint64_t *prev = (uint64_t *)bp.buf + i * K, *next = prev + K;
                for (k = 0; k < K; k++)
                    next[k] = prev[k] + src[k];
            } else {
                const uint32_t *src = (const uint32_t *)br.buf + c * K; /* (int32 bits, no overflow) */
                uint32_t *prev = (uint32_t *)bp.buf + i * K, *next = prev + K;
                for (k = 0; k < K; k++)
                    next[k] = prev[k] + src[k];
            }
        }
        ret = Py_None;
        Py_INCREF(ret);
    }
done:
    PyBuffer_Release(&br);
    PyBuffer_Release(&bc);
    PyBuffer_Release(&bp);
    return ret;
}

static int within(const char *pref, Py_ssize_t item, Py_ssize_t a, Py_ssize_t b, const int64_t *bud, Py_ssize_t R)
{
    Py_ssize_t c;
    if (item == 8) {
        const int64_t *x = (const int64_t *)pref + a * R, *y = (const int64_t *)pref + b * R;
        for (c = 0; c < R; c++)
            if (x[c] - y[c] > bud[c])
                return 0;
    } else {
        const int32_t *x = (const int32_t *)pref + a * R, *y = (const int32_t *)pref + b * R;
        for (c = 0; c < R; c++)
            if ((int64_t)x[c] - (int64_t)y[c] > bud[c])
                return 0;
    }
    return 1;
}

static PyObject *first_fit(PyObject *self, PyObject *args)
{
    Py_buffer bp, bb, bj, bk, bo;
    Py_ssize_t nt, R, iters, item;
    PyObject *ret = NULL;
    if (!PyArg_ParseTuple(args, "y*y*nny*y*nw*n", &bp, &bb, &nt, &R, &bj, &bk, &iters, &bo, &item))
        return NULL;
    Py_ssize_t P = bj.len / 8, rows = (item > 0 && R > 0) ? bp.len / item / R : 0;
    if ((item != 4 && item != 8) || nt < 1 || R < 1 || bp.len != rows * R * item || rows % nt ||
        !check(&bb, R, 8, "bud") || !check(&bj, P, 8, "J") || !check(&bk, P, 8, "K") || !check(&bo, P, 8, "out"))
        goto done;
    {
        const int64_t *J = bj.buf, *K = bk.buf, *bud = bb.buf;
        int64_t *out = bo.buf;
        Py_ssize_t n1 = rows / nt, p, it;
        for (p = 0; p < P; p++) {
            int64_t j = J[p], k = K[p];
            if (j < 0 || k < 0 || j >= n1 || k >= n1) {
                PyErr_SetString(PyExc_ValueError, "_fast.first_fit: segment out of range");
                goto done;
            }
            if (!within(bp.buf, item, k * nt + nt - 1, j * nt + nt - 1, bud, R)) {
                out[p] = nt;
                continue;
            }
            int64_t lo = 0, hi = nt - 1;
            for (it = 0; it < iters; it++) {
                int64_t mid = (lo + hi) >> 1;
                if (within(bp.buf, item, k * nt + mid, j * nt + mid, bud, R))
                    hi = mid;
                else
                    lo = mid + 1;
            }
            out[p] = lo;
        }
        ret = Py_None;
        Py_INCREF(ret);
    }
done:
    PyBuffer_Release(&bp);
    PyBuffer_Release(&bb);
    PyBuffer_Release(&bj);
    PyBuffer_Release(&bk);
    PyBuffer_Release(&bo);
    return ret;
}

static PyObject *compose(PyObject *self, PyObject *args)
{
    Py_buffer bs, b1, bj, bk, bo;
    Py_ssize_t n1, iters;
    PyObject *ret = NULL;
    if (!PyArg_ParseTuple(args, "y*y*ny*y*nw*", &bs, &b1, &n1, &bj, &bk, &iters, &bo))
        return NULL;
    Py_ssize_t P = bj.len / 8;
    if (n1 < 1 || !check(&bs, n1 * n1, 8, "fs") || !check(&b1, n1 * n1, 8, "f1") || !check(&bj, P, 8, "J") ||
        !check(&bk, P, 8, "K") || !check(&bo, P, 8, "out"))
        goto done;
    {
        const int64_t *fs = bs.buf, *f1 = b1.buf, *J = bj.buf, *K = bk.buf;
        int64_t *out = bo.buf;
        Py_ssize_t p, it;
        for (p = 0; p < P; p++) {
            int64_t j = J[p], k = K[p], lo = j, hi = k;
            if (j < 0 || k < j || k >= n1) {
                PyErr_SetString(PyExc_ValueError, "_fast.compose: segment out of range");
                goto done;
            }
            for (it = 0; it < iters; it++) {
                int64_t mid = (lo + hi) >> 1; /* (stays within [j, k]: hi = k always qualifies) */
                if (mid > k || fs[j * n1 + mid] >= f1[mid * n1 + k])
                    hi = mid;
                else
                    lo = mid + 1;
            }
            if (lo > k) {
                PyErr_SetString(PyExc_ValueError, "_fast.compose: no m in [j, k] qualifies");
                goto done;
            }
            int64_t prev = lo > j ? f1[(lo - 1) * n1 + k] : INT64_MAX, a = fs[j * n1 + lo];
            out[p] = a < prev ? a : prev;
        }
        ret = Py_None;
        Py_INCREF(ret);
    }
done:
    PyBuffer_Release(&bs);
    PyBuffer_Release(&b1);
    PyBuffer_Release(&bj);
    PyBuffer_Release(&bk);
    PyBuffer_Release(&bo);
    return ret;
}

/* repair's scan of every switch (the module's comment: least_violation): the first (i * K + o)
 * with the least summed excess, and that excess in *least. */
static Py_ssize_t violation_scan(const double *cur, const double *sel, const double *over, const double *safe,
                                 Py_ssize_t n, Py_ssize_t K, double *least)
{
    Py_ssize_t i, o, best_at = 0;
    double best = 0.0;
    for (i = 0; i < n; i++) {
        double base[4];
        int d;
        for (d = 0; d < 4; d++)
            base[d] = cur[d] - sel[i * 4 + d];
        for (o = 0; o < K; o++) {
            double e[4];
            for (d = 0; d < 4; d++) {
                double x = base[d] + over[(d * n + i) * K + o];
                e[d] = (x > 0.0 ? x : 0.0) / safe[d]; /* (np.maximum(x, 0.0): no NaN here) */
            }
            double v = ((e[0] + e[1]) + e[2]) + e[3];
            if ((i == 0 && o == 0) || v < best) {
                best = v;
                best_at = i * K + o;
            }
        }
    }
    *least = best;
    return best_at;
}

/* repair's local search on big [n, K, 4] from arg (switched in place); sel [n, 4] and over
 * [4, n, K] are scratch. 1: a choice within total, 0: none found, -1: an index out of range. */
static int repair_core(const double *big, int64_t *arg, const double *total, const double *safe, Py_ssize_t n,
                       Py_ssize_t K, Py_ssize_t steps, double *sel, double *over)
{
    double cur[4] = {0.0, 0.0, 0.0, 0.0};
    Py_ssize_t i, o, step;
    int d;
    for (i = 0; i < n; i++) {
        if (arg[i] < 0 || arg[i] >= K)
            return -1;
        for (d = 0; d < 4; d++) {
            sel[i * 4 + d] = big[(i * K + arg[i]) * 4 + d];
            cur[d] = cur[d] + sel[i * 4 + d]; /* (whole numbers or inf: exact in any order) */
        }
        for (o = 0; o < K; o++)
            for (d = 0; d < 4; d++)
                over[(d * n + i) * K + o] = big[(i * K + o) * 4 + d] - total[d];
    }
    for (step = 0; step < steps; step++) {
        double e, sum = 0.0, least;
        int any = 0;
        for (d = 0; d < 4; d++) {
            double x = cur[d] - total[d];
            e = (0.0 > x ? 0.0 : x) / safe[d]; /* (Python's max(x, 0.0)) */
            any |= e > 0.0;
            sum = sum + e;
        }
        if (!any)
            return 1;
        Py_ssize_t at = violation_scan(cur, sel, over, safe, n, K, &least);
        if (!(least < sum - 1e-12))
            return 0;
        i = at / K;
        o = at % K;
        for (d = 0; d < 4; d++) {
            cur[d] = (cur[d] - sel[i * 4 + d]) + big[(i * K + o) * 4 + d];
            sel[i * 4 + d] = big[(i * K + o) * 4 + d];
        }
        arg[i] = o;
    }
    return 0;
}

static PyObject *repair(PyObject *self, PyObject *args)
{
    Py_buffer bb, ba, bt, bf;
    Py_ssize_t n, K, steps;
    PyObject *ret = NULL;
    double *sel = NULL, *over = NULL;
    if (!PyArg_ParseTuple(args, "y*w*y*y*nnn", &bb, &ba, &bt, &bf, &n, &K, &steps))
        return NULL;
    if (n < 1 || K < 1 || steps < 0 || !check(&bb, n * K * 4, 8, "big") || !check(&ba, n, 8, "arg") ||
        !check(&bt, 4, 8, "total") || !check(&bf, 4, 8, "safe"))
        goto done;
    sel = malloc(sizeof(double) * n * 4);
    over = malloc(sizeof(double) * 4 * n * K);
    if (!sel || !over) {
        PyErr_NoMemory();
        goto done;
    }
    {
        int got = repair_core(bb.buf, ba.buf, bt.buf, bf.buf, n, K, steps, sel, over);
        if (got < 0)
            PyErr_SetString(PyExc_IndexError, "_fast.repair: an option index out of range");
        else
            ret = PyBool_FromLong(got);
    }
done:
    free(sel);
    free(over);
    PyBuffer_Release(&bb);
    PyBuffer_Release(&ba);
    PyBuffer_Release(&bt);
    PyBuffer_Release(&bf);
    return ret;
}

/* lagrange_step's arithmetic (see the module's comment): writes arg [n] and sub [R], returns g. */
static double lstep(const double *sc, const double *p, int64_t *arg, double *sub, Py_ssize_t n, Py_ssize_t K,
                    Py_ssize_t R)
{
    double g = 0.0;
    Py_ssize_t i, k, r;
    for (r = 0; r < R; r++)
        sub[r] = 0.0;
    for (i = 0; i < n; i++) {
        const double *row = sc + i * K * R;
        double best = 0.0;
        Py_ssize_t at = 0;
        for (k = 0; k < K; k++) {
            double v = R ? row[k * R] * p[0] : 0.0;
            for (r = 1; r < R; r++) {
                double t = row[k * R + r] * p[r];
                v = v + t;
            }
            if (k == 0 || v < best || (v != v && best == best)) {
                best = v;
                at = k;
            }
            if (best != best)
                break; /* (the first NaN is numpy's argmin) */
        }
        arg[i] = at;
        g = i ? g + best : best;
        for (r = 0; r < R; r++)
            sub[r] = i ? sub[r] + row[at * R + r] : row[at * R + r];
    }
    for (r = 0; r < R; r++)
        sub[r] = sub[r] - 1.0;
    return g - 1.0;
}

/* lagrange_update's arithmetic (see the module's comment), p in place. */
static void lupdate(double *p, const double *sub, Py_ssize_t R, Py_ssize_t it)
{
    double tot = 0.0, step = 0.8 / sqrt((double)(it + 1));
    Py_ssize_t r;
    for (r = 0; r < R; r++) {
        double x = sub[r];
        if (x == x) /* (np.maximum / np.minimum keep a NaN) */
            x = x < -4.0 ? -4.0 : (x > 4.0 ? 4.0 : x);
        x = x * step;
        p[r] = p[r] * exp(x);
        tot = r ? tot + p[r] : p[r];
    }
    for (r = 0; r < R; r++)
        p[r] = p[r] / tot;
}

static PyObject *lagrange_step(PyObject *self, PyObject *args)
{
    Py_buffer bs, bp, ba, bu;
    Py_ssize_t n, K, R;
    PyObject *ret = NULL;
    if (!PyArg_ParseTuple(args, "y*y*w*w*nnn", &bs, &bp, &ba, &bu, &n, &K, &R))
        return NULL;
    if (n < 1 || K < 1 || R < 0 || !check(&bs, n * K * R, 8, "scaled") || !check(&bp, R, 8, "p") ||
        !check(&ba, n, 8, "arg") || !check(&bu, R, 8, "sub"))
        goto done;
    ret = PyFloat_FromDouble(lstep(bs.buf, bp.buf, ba.buf, bu.buf, n, K, R));
done:
    PyBuffer_Release(&bs);
    PyBuffer_Release(&bp);
    PyBuffer_Release(&ba);
    PyBuffer_Release(&bu);
    return ret;
}

static PyObject *lagrange_update(PyObject *self, PyObject *args)
{
    Py_buffer bp, bu;
    Py_ssize_t R, it;
    PyObject *ret = NULL;
    if (!PyArg_ParseTuple(args, "w*y*nn", &bp, &bu, &R, &it))
        return NULL;
    if (R < 0 || it < 0 || !check(&bp, R, 8, "p") || !check(&bu, R, 8, "sub"))
        goto done;
    lupdate(bp.buf, bu.buf, R, it);
    Py_INCREF(Py_None);
    ret = Py_None;
done:
    PyBuffer_Release(&bp);
    PyBuffer_Release(&bu);
    return ret;
}

static PyObject *lagrange_run(PyObject *self, PyObject *args)
{
    Py_buffer bs, bb, bp, bq, ba, bg, bt, bf;
    Py_ssize_t n, K, R, iters;
    int find;
    PyObject *ret = NULL;
    int64_t *tried = NULL, *rarg = NULL;
    double *sub = NULL, *sel = NULL, *over = NULL;
    if (!PyArg_ParseTuple(args, "y*y*w*w*w*y*y*y*nnnnp", &bs, &bb, &bp, &bq, &ba, &bg, &bt, &bf, &n, &K, &R, &iters,
                          &find))
        return NULL;
    if (n < 1 || K < 1 || R < 0 || iters < 0 || !check(&bs, n * K * R, 8, "scaled") ||
        !check(&bb, n * K * 4, 8, "big") || !check(&bp, R, 8, "p") || !check(&bq, R, 8, "best_p") ||
        !check(&ba, n, 8, "arg") || !check(&bg, 4, 8, "budget") || !check(&bt, 4, 8, "total") ||
        !check(&bf, 4, 8, "safe"))
        goto done;
    tried = malloc(sizeof(int64_t) * n * (iters ? iters : 1));
    rarg = malloc(sizeof(int64_t) * n);
    sub = malloc(sizeof(double) * (R ? R : 1));
    sel = malloc(sizeof(double) * n * 4);
    over = malloc(sizeof(double) * 4 * n * K);
    if (!tried || !rarg || !sub || !sel || !over) {
        PyErr_NoMemory();
        goto done;
    }
    {
        const double *sc = bs.buf, *big = bb.buf, *total = bt.buf, *safe = bf.buf;
        const int64_t *budget = bg.buf;
        double *p = bp.buf, *best_p = bq.buf, best = -INFINITY, value = 0.0;
        int64_t *arg = ba.buf;
        Py_ssize_t it, i, ntried = 0, r;
        int found = 0, d;
        for (r = 0; r < R; r++)
            best_p[r] = p[r];
        for (it = 0; it < iters; it++) {
            double g = lstep(sc, p, arg, sub, n, K, R);
            if (g > best) {
                best = g;
                for (r = 0; r < R; r++)
                    best_p[r] = p[r];
            }
            if (best > 1e-9)
                break;
            if (find) {
                Py_ssize_t t;
                for (t = 0; t < ntried; t++)
                    if (!memcmp(tried + t * n, arg, sizeof(int64_t) * n))
                        break;
                if (t == ntried) { /* a choice not tried yet */
                    memcpy(tried + ntried * n, arg, sizeof(int64_t) * n);
                    ntried++;
                    int fit = 1;
                    for (d = 0; d < 4; d++) {
                        double sum = 0.0;
                        for (i = 0; i < n; i++)
                            sum = sum + big[(i * K + arg[i]) * 4 + d]; /* (whole numbers: exact) */
                        if (!(sum <= (double)budget[d]))
                            fit = 0;
                    }
                    if (!fit && ntried <= 3) {
                        memcpy(rarg, arg, sizeof(int64_t) * n);
                        int got = repair_core(big, rarg, total, safe, n, K, 64, sel, over);
                        if (got < 0) {
                            PyErr_SetString(PyExc_IndexError, "_fast.lagrange_run: an option index out of range");
                            goto done;
                        }
                        if (got) {
                            memcpy(arg, rarg, sizeof(int64_t) * n);
                            fit = 1;
                        }
                    }
                    if (fit) {
                        found = 1;
                        value = g;
                        break;
                    }
                }
            }
            lupdate(p, sub, R, it);
        }
        ret = Py_BuildValue("di", found ? value : best, found);
    }
done:
    free(tried);
    free(rarg);
    free(sub);
    free(sel);
    free(over);
    PyBuffer_Release(&bs);
    PyBuffer_Release(&bb);
    PyBuffer_Release(&bp);
    PyBuffer_Release(&bq);
    PyBuffer_Release(&ba);
    PyBuffer_Release(&bg);
    PyBuffer_Release(&bt);
    PyBuffer_Release(&bf);
    return ret;
}

static PyObject *band(PyObject *self, PyObject *args)
{
    Py_buffer bs, bf, bl;
    double thr;
    Py_ssize_t W;
    PyObject *ret = NULL;
    if (!PyArg_ParseTuple(args, "y*dw*w*n", &bs, &thr, &bf, &bl, &W))
        return NULL;
    if (W < 1 || !check(&bs, W * W, 8, "s") || !check(&bf, W, 8, "first") || !check(&bl, W, 8, "last"))
        goto done;
    {
        const double *sv = bs.buf;
        int64_t *first = bf.buf, *last = bl.buf;
        Py_ssize_t j, k;
        for (j = 0; j < W; j++) {
            const double *row = sv + j * W;
            first[j] = W;
            last[j] = -1;
            for (k = 0; k < W; k++)
                if (row[k] <= thr && row[k] < INFINITY) {
                    first[j] = k;
                    break;
                }
            if (k == W)
                continue;
            for (k = W - 1; k >= first[j]; k--)
                if (row[k] <= thr && row[k] < INFINITY) {
                    last[j] = k;
                    break;
                }
        }
        Py_INCREF(Py_None);
        ret = Py_None;
    }
done:
    PyBuffer_Release(&bs);
    PyBuffer_Release(&bf);
    PyBuffer_Release(&bl);
    return ret;
}

static PyObject *next_slr(PyObject *self, PyObject *args)
{
    Py_buffer bo, br, bx;
    Py_ssize_t n1, nt, plus;
    PyObject *ret = NULL;
    if (!PyArg_ParseTuple(args, "y*y*w*nnn", &bo, &br, &bx, &n1, &nt, &plus))
        return NULL;
    if (n1 < 1 || nt < 0 || plus < 0 || !check(&bo, n1 * nt, 8, "one") || !check(&br, n1 * nt, 8, "reach") ||
        !check(&bx, n1 * nt, 8, "out"))
        goto done;
    {
        const int64_t *one = bo.buf, *reach = br.buf;
        int64_t *out = bx.buf;
        Py_ssize_t i, t;
        for (i = 0; i < n1; i++) {
            for (t = 0; t < nt; t++) {
                int64_t r = reach[i * nt + t] + plus;
                if (r > n1 - 1)
                    r = n1 - 1;
                if (r < 0) {
                    PyErr_SetString(PyExc_IndexError, "_fast.next_slr: a reach below 0");
                    goto done;
                }
                out[i * nt + t] = one[r * nt + t];
            }
        }
        Py_INCREF(Py_None);
        ret = Py_None;
    }
done:
    PyBuffer_Release(&bo);
    PyBuffer_Release(&br);
    PyBuffer_Release(&bx);
    return ret;
}

static PyMethodDef methods[] = {
    {"band", band, METH_VARARGS, "order._band (see the module's comment)."},
    {"lagrange_run", lagrange_run, METH_VARARGS, "segments.lagrange_bound's whole loop (see the module's comment)."},
    {"repair", repair, METH_VARARGS, "segments._repair's whole local search (see the module's comment)."},
    {"next_slr", next_slr, METH_VARARGS, "One step of segments.min_feasible_Ts' SLR composition (see the module's comment)."},
    {"lagrange_step", lagrange_step, METH_VARARGS, "One multiplier step of segments.lagrange_bound (see the module's comment)."},
    {"lagrange_update", lagrange_update, METH_VARARGS, "segments.lagrange_bound's multiplier update (see the module's comment)."},
    {"first_fit", first_fit, METH_VARARGS, "segments._first_monotone's binary searches (see the module's comment)."},
    {"compose", compose, METH_VARARGS, "segments._compose (see the module's comment)."},
    {"prefix_rows", prefix_rows, METH_VARARGS, "segments._prefix_rows (see the module's comment)."},
    {"dominated_at", dominated_at, METH_VARARGS, "segments._Knapsack._dominated_at (see the module's comment)."},
    {"reach_packed", reach_packed, METH_VARARGS, "segments._reach_packed's sweep (see the module's comment)."},
    {"step", step, METH_VARARGS, "One transition of order.search (see the module's comment)."},
    {"pareto", pareto, METH_VARARGS, "segments._pareto's scan (see the module's comment)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fast", NULL, -1, methods};

PyMODINIT_FUNC PyInit__fast(void) { return PyModule_Create(&module); }
