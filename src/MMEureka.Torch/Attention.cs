using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MMEureka.Torch;

/// <summary>Where the B*H row-major [T, headDim] matrices of q, k, v or an output live inside one array:
/// matrix (b, h) starts at Offset + b * BatchStride + h * HeadStride and its rows are Ld apart.</summary>
internal readonly record struct HeadLayout(float[] Data, int Offset, int BatchStride, int HeadStride, int Ld)
{
    public int At(int b, int h) => Offset + b * BatchStride + h * HeadStride;

    /// <summary>A [B, H, T, D] tensor (copied only if its last dimension is not unit-stride).</summary>
    public static HeadLayout Of(Tensor x)
    {
        int T = x.Sizes[2], D = x.Sizes[3];
        if (!(x.Strides[3] == 1 || D == 1) || !(T == 1 || x.Strides[2] >= D)) x = new Tensor(x.ToArray(), x.Sizes);
        return new HeadLayout(x.Storage, x.Offset, x.Strides[0], x.Strides[1], T == 1 ? D : x.Strides[2]);
    }

    /// <summary>A fresh contiguous [B, H, T, D] buffer.</summary>
    public static HeadLayout Contiguous(float[] data, int H, int T, int D) => new(data, 0, H * T * D, T * D, D);

    /// <summary>Head slice <paramref name="part"/> (0 = q, 1 = k, 2 = v) of a contiguous [B, T, parts * H * D] buffer,
    /// the layout of the qkv projection's output (and of its gradient).</summary>
    public static HeadLayout Packed(float[] data, int offset, int T, int H, int D, int part, int parts)
        => new(data, offset + part * H * D, T * parts * H * D, D, parts * H * D);
}

/// <summary>
/// softmax(q k^T * scale + mask) v per (batch, head), forward and backward fused so that no graph of small ops over
/// [B, H, Tq, Tk] is built. Causal: query i sees keys j &lt;= Tk - Tq + i (the queries are the last Tq positions, as
/// with a KV cache). padding [B, Tk]: non-zero = the key may be attended to. A query that sees no key outputs zeros.
/// Per-head products run on one thread each (<see cref="Gemm.SgemmSerial"/>) while heads run in parallel. Causal
/// heads go in blocks of <see cref="QueryBlock"/> queries, each multiplied only with the keys its last query sees:
/// at 96 positions that skips a third of the products' work.
/// </summary>
internal static class FusedAttention
{
    /// <summary>Below this many multiply-adds in total, heads run on the calling thread (decoding a batch of 64
    /// over 80 positions is 0.7M: on one core its ~100 us beat a parallel loop's hand-off).</summary>
    private const long ParallelWork = 1 << 21;

    /// <summary>Queries per head up to which scores and outputs are dot products instead of GEMM calls (decoding).</summary>
    private const int DotProductQueries = 4;

    private static void ForHeads(int count, long work, Action<int> body)
    {
        if (work < ParallelWork || count == 1 || Threads.Serial)
            for (int i = 0; i < count; i++) body(i);
        else Parallel.For(0, count, body);
    }

    /// <summary>Queries per block of a head's products (see the class summary).</summary>
    private const int QueryBlock = 32;

    /// <summary>Keys that queries [0, end) see: under a causal mask query i sees keys j &lt;= Tk - Tq + i.</summary>
    private static int VisibleKeys(int end, int Tq, int Tk, bool causal) => causal ? Math.Clamp(Tk - Tq + end, 0, Tk) : Tk;

    private static void Product(bool transA, bool transB, int m, int n, int k, float alpha,
        float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb, float[] c, int cOffset, int ldc, float beta = 0f)
        => Gemm.SgemmSerial(transA, transB, m, n, k, alpha, a, aOffset, lda, b, bOffset, ldb, beta, c, cOffset, ldc);

    // Head dimensions are small (32 here): a TensorPrimitives call per key costs more than the arithmetic, so
    // decoding uses inlined loops (Dot, WeightedRows).

    /// <summary>Σ a[i] b[i] over n elements (two accumulators, fused multiply-adds).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Dot(ref float a, ref float b, int n)
    {
        int i = 0;
        float sum = 0;
        if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            Vector256<float> acc0 = Vector256<float>.Zero, acc1 = Vector256<float>.Zero;
            for (; i <= n - 16; i += 16)
            {
                acc0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref a, (nuint)i), Vector256.LoadUnsafe(ref b, (nuint)i), acc0);
                acc1 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref a, (nuint)(i + 8)), Vector256.LoadUnsafe(ref b, (nuint)(i + 8)), acc1);
            }
            if (i <= n - 8)
            {
                acc0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref a, (nuint)i), Vector256.LoadUnsafe(ref b, (nuint)i), acc0);
                i += 8;
            }
            sum = Vector256.Sum(acc0 + acc1);
        }
        for (; i < n; i++) sum += Unsafe.Add(ref a, i) * Unsafe.Add(ref b, i);
        return sum;
    }

    /// <summary>What <see cref="Dot"/> sums horizontally for n a multiple of 8: its two accumulators, added.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> DotLanes(ref float a, ref float b, int n)
    {
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = Vector256<float>.Zero;
        int i = 0;
        for (; i <= n - 16; i += 16)
        {
            acc0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref a, (nuint)i), Vector256.LoadUnsafe(ref b, (nuint)i), acc0);
            acc1 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref a, (nuint)(i + 8)), Vector256.LoadUnsafe(ref b, (nuint)(i + 8)), acc1);
        }
        if (i < n) acc0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref a, (nuint)i), Vector256.LoadUnsafe(ref b, (nuint)i), acc0);
        return acc0 + acc1;
    }

    /// <summary>
    /// <see cref="Dot"/> of a with four rows of b (ld apart), n a multiple of 8, bit for bit: Vector256.Sum adds
    /// ((e0 + e1) + (e2 + e3)) + ((e4 + e5) + (e6 + e7)), and two rounds of horizontal adds over four keys' lanes
    /// followed by adding the 128-bit halves make exactly those sums for all four at once. One horizontal sum per key
    /// cost about as much as the key's multiply-adds (head dimension 32: four of them).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<float> Dot4(ref float a, ref float b, int ld, int n)
    {
        var s0 = DotLanes(ref a, ref b, n);
        var s1 = DotLanes(ref a, ref Unsafe.Add(ref b, ld), n);
        var s2 = DotLanes(ref a, ref Unsafe.Add(ref b, 2 * ld), n);
        var s3 = DotLanes(ref a, ref Unsafe.Add(ref b, 3 * ld), n);
        var sums = Avx.HorizontalAdd(Avx.HorizontalAdd(s0, s1), Avx.HorizontalAdd(s2, s3));
        return sums.GetLower() + sums.GetUpper();
    }

    /// <summary>
    /// <see cref="Dot4"/> of a with eight rows of b (ld apart), n a multiple of 8: the two groups of four keys'
    /// horizontal adds as in Dot4, their 128-bit halves then added for all eight at once (the same sums, so the same
    /// bits as <see cref="Dot"/>), one store of eight scores instead of two of four.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Dot8(ref float a, ref float b, int ld, int n)
    {
        var s0 = DotLanes(ref a, ref b, n);
        var s1 = DotLanes(ref a, ref Unsafe.Add(ref b, ld), n);
        var s2 = DotLanes(ref a, ref Unsafe.Add(ref b, 2 * ld), n);
        var s3 = DotLanes(ref a, ref Unsafe.Add(ref b, 3 * ld), n);
        var s4 = DotLanes(ref a, ref Unsafe.Add(ref b, 4 * ld), n);
        var s5 = DotLanes(ref a, ref Unsafe.Add(ref b, 5 * ld), n);
        var s6 = DotLanes(ref a, ref Unsafe.Add(ref b, 6 * ld), n);
        var s7 = DotLanes(ref a, ref Unsafe.Add(ref b, 7 * ld), n);
        var first = Avx.HorizontalAdd(Avx.HorizontalAdd(s0, s1), Avx.HorizontalAdd(s2, s3));
        var second = Avx.HorizontalAdd(Avx.HorizontalAdd(s4, s5), Avx.HorizontalAdd(s6, s7));
        return Avx.Permute2x128(first, second, 0x20) + Avx.Permute2x128(first, second, 0x31);
    }

    /// <summary>Writes the output into <paramref name="o"/> and returns the probabilities P [B*H, Tq, Tk] (with
    /// <paramref name="keepProbs"/>; otherwise an empty array).
    /// <paramref name="keyRows"/> (a KV cache's): batch row b reads keys and values of stored row keyRows.Slot(b),
    /// whose padding range gets no weight, like zeros of <paramref name="padding"/>.</summary>
    public static float[] Forward(HeadLayout q, HeadLayout k, HeadLayout v, HeadLayout o,
        int B, int H, int Tq, int Tk, int D, float scale, bool causal, float[]? padding, bool keepProbs = true, KeyRows keyRows = default)
    {
        // Rows of a KV cache holding different numbers of keys (KVCache.copy_row) only ever decode one query each.
        if (keyRows.Lengths != null && (Tq != 1 || padding != null))
            throw new ArgumentException("attention over KV cache rows of different lengths takes one query per row and no dense padding mask");
        // Without a backward to follow, each head's scores live in a scratch of its thread: at a prefill the
        // [B*H, Tq, Tk] array was a fresh large object at every layer, and decoding allocated one per call.
        var p = keepProbs ? Buffers.Uninitialized(B * H * Tq * Tk) : null;
        ForHeads(B * H, (long)B * H * Tq * Tk * D, bh =>
        {
            int b = bh / H, h = bh % H, kb = keyRows.Slot(b);
            int padStart = keyRows.PadStart?[kb] ?? 0, padEnd = keyRows.PadEnd?[kb] ?? 0;
            int keys = keyRows.Lengths?[kb] ?? Tk; // this row's keys; a kept probabilities row is Tk long, the rest cleared
            var scores = p ?? Buffers.Scratch(ref _scoreScratch, Tq * Tk);
            int offset = p == null ? 0 : bh * Tq * Tk;
            if (p != null && keys < Tk) p.AsSpan(offset + keys, Tk - keys).Clear();
            Head(q.Data, q.At(b, h), q.Ld, k.Data, k.At(kb, h), k.Ld, v.Data, v.At(kb, h), v.Ld, o.Data, o.At(b, h), o.Ld,
                scores, offset, Tq, keys, D, scale, causal, padding, b * Tk, padStart, padEnd, keepProbs);
        });
        return p ?? [];
    }

    /// <summary>One (batch, head): scores, masked softmax into p, output rows. Plain arrays and offsets (not the
    /// captured layouts) so that the JIT keeps everything in registers. Keys [padStart, padEnd) are padding, as are
    /// those where <paramref name="padding"/> is 0. Without <paramref name="keepProbs"/> (no backward can follow)
    /// the decoding path leaves p unnormalised and divides the output row instead.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Head(float[] qd, int qOff, int qLd, float[] kd, int kOff, int kLd, float[] vd, int vOff, int vLd,
        float[] od, int oOff, int oLd, float[] p, int pOff, int Tq, int Tk, int D, float scale, bool causal, float[]? padding, int padOff,
        int padStart, int padEnd, bool keepProbs)
    {
        int keyOffset = Tk - Tq;
        bool dots = Tq <= DotProductQueries;
        if (!dots)
            for (int i0 = 0; i0 < Tq; i0 += QueryBlock)
            {
                // Scores beyond a row's visible keys are left unwritten: the row loop below clears them.
                int rows = Math.Min(QueryBlock, Tq - i0), keys = VisibleKeys(i0 + rows, Tq, Tk, causal);
                if (keys > 0) Product(false, true, rows, keys, D, scale, qd, qOff + i0 * qLd, qLd, kd, kOff, kLd, p, pOff + i0 * Tk, Tk);
            }
        for (int i = 0; i < Tq; i++)
        {
            var row = p.AsSpan(pOff + i * Tk, Tk);
            int visible = causal ? Math.Clamp(keyOffset + i + 1, 0, Tk) : Tk;
            row[visible..].Clear();
            var seen = row[..visible];
            float max = float.NegativeInfinity;
            if (dots)
            {
                ref float qi = ref qd[qOff + i * qLd];
                ref float k0 = ref kd[kOff];
                ref float r0 = ref MemoryMarshal.GetReference(row);
                int j = 0;
                if (Avx.IsSupported && D >= 8 && D % 8 == 0)
                {
                    var s = Vector128.Create(scale);
                    // Decoding streams a cache far larger than the caches (a batch of 64 over 100 positions: 26 MB a
                    // step), so the keys PrefetchKeys ahead and the values (read next, by WeightedRows) are requested
                    // while these keys are multiplied: many lines in flight instead of the prefetcher restarting at
                    // every 4 KB page. Only hints: no number changes.
                    bool prefetch = Sse.IsSupported && visible >= 2 * PrefetchKeys;
                    if (prefetch) Prefetch(ref k0, kLd, 0, PrefetchKeys, D);
                    if (kLd == D && vLd == D)
                    {
                        // A cache's rows lie end to end: eight keys at a time, and the lines requested once each
                        // (not three per row of 128 bytes, most of them the neighbours' lines again).
                        var s8 = Vector256.Create(scale);
                        for (; j <= visible - 8; j += 8)
                        {
                            if (prefetch)
                            {
                                if (j + PrefetchKeys + 8 <= visible) PrefetchLines(ref Unsafe.Add(ref k0, (j + PrefetchKeys) * D), 8 * D);
                                PrefetchLines(ref vd[vOff + j * D], 8 * D);
                            }
                            (s8 * Dot8(ref qi, ref Unsafe.Add(ref k0, j * kLd), kLd, D)).StoreUnsafe(ref r0, (nuint)j);
                        }
                    }
                    for (; j <= visible - 4; j += 4)
                    {
                        if (prefetch)
                        {
                            if (j + PrefetchKeys + 4 <= visible) Prefetch(ref k0, kLd, j + PrefetchKeys, 4, D);
                            Prefetch(ref vd[vOff], vLd, j, 4, D);
                        }
                        (s * Dot4(ref qi, ref Unsafe.Add(ref k0, j * kLd), kLd, D)).StoreUnsafe(ref r0, (nuint)j);
                    }
                }
                for (; j < visible; j++)
                    Unsafe.Add(ref r0, j) = scale * Dot(ref qi, ref Unsafe.Add(ref k0, j * kLd), D);
            }
            if (padding != null)
                for (int j = 0; j < visible; j++)
                    if (padding[padOff + j] == 0) seen[j] = float.NegativeInfinity;
            // The same -inf as a dense mask's zeros, so that a cache's padding range computes what the mask did.
            for (int j = Math.Max(padStart, 0), end = Math.Min(padEnd, visible); j < end; j++) seen[j] = float.NegativeInfinity;
            if (visible > 0) max = Simd.Max(seen);
            if (float.IsNegativeInfinity(max))
            {
                row.Clear(); // nothing visible: a zero output row rather than 0/0
                if (dots) od.AsSpan(oOff + i * oLd, D).Clear();
                continue;
            }
            float inverse = 1f / VectorMath.ExpShiftedSum(seen, max);
            if (!dots || keepProbs) Simd.Multiply(seen, inverse, seen);
            if (dots) WeightedRows(seen, vd, vOff, vLd, od, oOff + i * oLd, D, keepProbs ? 1f : inverse);
        }
        if (!dots)
            for (int i0 = 0; i0 < Tq; i0 += QueryBlock)
            {
                int rows = Math.Min(QueryBlock, Tq - i0), keys = VisibleKeys(i0 + rows, Tq, Tk, causal);
                Product(false, false, rows, D, keys, 1f, p, pOff + i0 * Tk, Tk, vd, vOff, vLd, od, oOff + i0 * oLd, oLd);
            }
    }

    /// <summary>How far ahead decoding's score loop requests keys: 32 keys, 4 KB at MiniVlm's head size (32 floats).</summary>
    private const int PrefetchKeys = 32;

    /// <summary>Requests into the cache the lines of rows [from, from + count) of D floats, ld apart, from row0.
    /// The caller keeps the rows inside the array (a hint never faults, but the reference must stay in bounds).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Prefetch(ref float row0, int ld, int from, int count, int D)
    {
        for (int r = from; r < from + count; r++)
        {
            byte* p = (byte*)Unsafe.AsPointer(ref Unsafe.Add(ref row0, r * ld));
            for (int b = 0; b < D * sizeof(float); b += 64) Sse.Prefetch0(p + b);
            Sse.Prefetch0(p + D * sizeof(float) - 1); // a row that straddles one more line
        }
    }

    /// <summary>Requests the cache lines of the <paramref name="count"/> floats from <paramref name="start"/> (in bounds).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void PrefetchLines(ref float start, int count)
    {
        byte* p = (byte*)Unsafe.AsPointer(ref start);
        for (int b = 0; b < count * sizeof(float); b += 64) Sse.Prefetch0(p + b);
        Sse.Prefetch0(p + count * sizeof(float) - 1); // the last line when the block does not start on one
    }

    /// <summary>o[0..D) = scale * Σ_j w[j] v_j, v_j the rows of v (ld apart): up to 32 output lanes stay in
    /// registers while the keys stream past, two keys at a time into separate accumulators so that the fused
    /// multiply-adds do not wait on each other.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WeightedRows(ReadOnlySpan<float> w, float[] vd, int vOff, int vLd, float[] od, int oOff, int D, float scale)
    {
        ref float w0 = ref MemoryMarshal.GetReference(w);
        ref float o0 = ref od[oOff];
        int n = w.Length, c = 0;
        var s = Vector256.Create(scale);
        if (Vector256.IsHardwareAccelerated)
        {
            for (; c <= D - 32; c += 32)
            {
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default;
                ref float v = ref vd[vOff + c];
                int j = 0;
                for (; j <= n - 2; j += 2)
                {
                    var wa = Vector256.Create(Unsafe.Add(ref w0, j));
                    var wb = Vector256.Create(Unsafe.Add(ref w0, j + 1));
                    ref float va = ref Unsafe.Add(ref v, j * vLd);
                    ref float vb = ref Unsafe.Add(ref va, vLd);
                    a0 = Vector256.FusedMultiplyAdd(wa, Vector256.LoadUnsafe(ref va), a0);
                    a1 = Vector256.FusedMultiplyAdd(wa, Vector256.LoadUnsafe(ref va, 8), a1);
                    a2 = Vector256.FusedMultiplyAdd(wa, Vector256.LoadUnsafe(ref va, 16), a2);
                    a3 = Vector256.FusedMultiplyAdd(wa, Vector256.LoadUnsafe(ref va, 24), a3);
                    b0 = Vector256.FusedMultiplyAdd(wb, Vector256.LoadUnsafe(ref vb), b0);
                    b1 = Vector256.FusedMultiplyAdd(wb, Vector256.LoadUnsafe(ref vb, 8), b1);
                    b2 = Vector256.FusedMultiplyAdd(wb, Vector256.LoadUnsafe(ref vb, 16), b2);
                    b3 = Vector256.FusedMultiplyAdd(wb, Vector256.LoadUnsafe(ref vb, 24), b3);
                }
                if (j < n)
                {
                    var wa = Vector256.Create(Unsafe.Add(ref w0, j));
                    ref float va = ref Unsafe.Add(ref v, j * vLd);
                    a0 = Vector256.FusedMultiplyAdd(wa, Vector256.LoadUnsafe(ref va), a0);
                    a1 = Vector256.FusedMultiplyAdd(wa, Vector256.LoadUnsafe(ref va, 8), a1);
                    a2 = Vector256.FusedMultiplyAdd(wa, Vector256.LoadUnsafe(ref va, 16), a2);
                    a3 = Vector256.FusedMultiplyAdd(wa, Vector256.LoadUnsafe(ref va, 24), a3);
                }
                ((a0 + b0) * s).StoreUnsafe(ref o0, (nuint)c);
                ((a1 + b1) * s).StoreUnsafe(ref o0, (nuint)(c + 8));
                ((a2 + b2) * s).StoreUnsafe(ref o0, (nuint)(c + 16));
                ((a3 + b3) * s).StoreUnsafe(ref o0, (nuint)(c + 24));
            }
            for (; c <= D - 8; c += 8)
            {
                Vector256<float> a = default, b = default;
                ref float v = ref vd[vOff + c];
                int j = 0;
                for (; j <= n - 2; j += 2)
                {
                    a = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref w0, j)), Vector256.LoadUnsafe(ref Unsafe.Add(ref v, j * vLd)), a);
                    b = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref w0, j + 1)), Vector256.LoadUnsafe(ref Unsafe.Add(ref v, (j + 1) * vLd)), b);
                }
                if (j < n) a = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref w0, j)), Vector256.LoadUnsafe(ref Unsafe.Add(ref v, j * vLd)), a);
                ((a + b) * s).StoreUnsafe(ref o0, (nuint)c);
            }
        }
        for (; c < D; c++)
        {
            float acc = 0;
            ref float v = ref vd[vOff + c];
            for (int j = 0; j < n; j++) acc += Unsafe.Add(ref w0, j) * Unsafe.Add(ref v, j * vLd);
            Unsafe.Add(ref o0, c) = acc * scale;
        }
    }

    /// <summary>Gradients of q, k, v (each written in full into its layout, or skipped when null) from the output
    /// gradient dO and the saved probabilities.</summary>
    public static void Backward(float[] p, HeadLayout dO, HeadLayout q, HeadLayout k, HeadLayout v,
        HeadLayout? dq, HeadLayout? dk, HeadLayout? dv, int B, int H, int Tq, int Tk, int D, float scale, bool causal, KeyRows keyRows = default)
    {
        if (keyRows.Lengths != null) throw new InvalidOperationException("no backward through KV cache rows of different lengths");
        ForHeads(B * H, 4L * B * H * Tq * Tk * D, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (int bh) =>
        {
            int b = bh / H, h = bh % H, kb = keyRows.Slot(b);
            int pOff = bh * Tq * Tk, gOff = dO.At(b, h);
            // One head's dS per thread, reused: a fresh array per head was 512 short-lived 37 KB arrays per training step.
            var dS = dq != null || dk != null ? Buffers.Scratch(ref _headScratch, Tq * Tk) : null;
            // Query blocks from the last one, which sees every key: it writes all of dV and dK (beta 0) and the
            // earlier blocks add to the keys they see.
            int last = (Tq - 1) / QueryBlock * QueryBlock;
            for (int i0 = last; i0 >= 0; i0 -= QueryBlock)
            {
                int rows = Math.Min(QueryBlock, Tq - i0), keys = VisibleKeys(i0 + rows, Tq, Tk, causal);
                float beta = i0 == last ? 0f : 1f;
                if (keys == 0) continue;
                int pBlock = pOff + i0 * Tk, gBlock = gOff + i0 * dO.Ld;
                // dV = P^T dO
                if (dv is { } gv) Product(true, false, keys, D, rows, 1f, p, pBlock, Tk, dO.Data, gBlock, dO.Ld, gv.Data, gv.At(b, h), gv.Ld, beta);
                if (dS == null) continue;
                // dP = dO V^T, then dS = P * (dP - rowsum(dP * P)) (softmax Jacobian)
                Product(false, true, rows, keys, D, 1f, dO.Data, gBlock, dO.Ld, v.Data, v.At(kb, h), v.Ld, dS, i0 * Tk, Tk);
                for (int i = i0; i < i0 + rows; i++)
                {
                    var ps = p.AsSpan(pOff + i * Tk, keys);
                    var ds = dS.AsSpan(i * Tk, keys);
                    float dot = Simd.Dot(ps, ds);
                    Simd.Subtract(ds, dot, ds);
                    Simd.Multiply(ds, ps, ds);
                }
                // dQ = scale dS K, dK = scale dS^T Q
                if (dq is { } gq) Product(false, false, rows, D, keys, scale, dS, i0 * Tk, Tk, k.Data, k.At(kb, h), k.Ld, gq.Data, gq.At(b, h) + i0 * gq.Ld, gq.Ld);
                if (dk is { } gk) Product(true, false, keys, D, rows, scale, dS, i0 * Tk, Tk, q.Data, q.At(b, h) + i0 * q.Ld, q.Ld, gk.Data, gk.At(b, h), gk.Ld, beta);
            }
        });
    }

    [ThreadStatic] private static float[]? _headScratch, _scoreScratch;

    public static float[]? Padding(Tensor? mask, int B, int Tk)
    {
        if (mask == null) return null;
        if (mask.Sizes.Length != 2 || mask.Sizes[0] != B || mask.Sizes[1] != Tk)
            throw new ArgumentException($"key_padding_mask must be [B, Tk] = [{B}, {Tk}], got {Tensor.ShapeString(mask.Sizes)}");
        return mask.ToArray();
    }

    /// <summary>
    /// Multi-head self-attention straight from the qkv projection's output [B, T, 3 * H * hd] (q, k, v in that order,
    /// heads split as [B, T, H, hd]) to the heads' concatenated output [B, T, H * hd], without splitting, transposing
    /// or merging copies; the backward writes dq, dk, dv into one [B, T, 3 * H * hd] gradient. With
    /// <paramref name="cache"/> the new keys and values are appended to it and the queries attend over all cached
    /// positions (batch row b those of its stored row, minus that row's padding range, <see cref="KVCache.mask_keys"/>);
    /// like appending through <see cref="KVCacheLayer.append"/>, no gradient reaches the k and v parts then.
    /// </summary>
    public static Tensor SelfAttention(Tensor qkv, int heads, bool causal, Tensor? keyPaddingMask, KVCacheLayer? cache)
        => SelfAttention(qkv, heads, causal, keyPaddingMask, cache, lastQueryOnly: false);

    /// <summary><see cref="SelfAttention(Tensor, int, bool, Tensor?, KVCacheLayer?)"/>; with
    /// <paramref name="lastQueryOnly"/> (no gradient, causal, a cache) all T positions' keys and values are appended
    /// but only the last position's query attends: the output is [B, 1, H * hd], what the full call gives at the
    /// last position up to float rounding (a prefill that needs only the next token).</summary>
    internal static Tensor SelfAttention(Tensor qkv, int heads, bool causal, Tensor? keyPaddingMask, KVCacheLayer? cache, bool lastQueryOnly)
    {
        int B = qkv.Sizes[0], T = qkv.Sizes[1], width = qkv.Sizes[2], Dm = width / 3, hd = Dm / heads;
        if (lastQueryOnly && (cache == null || !causal || keyPaddingMask != null || (Autograd.Enabled && qkv.requires_grad)))
            throw new ArgumentException("attention of the last query only needs a KV cache, a causal mask, no dense padding mask and no gradient");
        var x = qkv.contiguous().detach();
        var q = HeadLayout.Packed(x.Storage, x.Offset, T, heads, hd, 0, 3);
        var k = HeadLayout.Packed(x.Storage, x.Offset, T, heads, hd, 1, 3);
        var v = HeadLayout.Packed(x.Storage, x.Offset, T, heads, hd, 2, 3);
        int Tk = T;
        KeyRows keyRows = default;
        if (cache != null) (k, v, Tk, keyRows) = cache.AppendPacked(x.Storage, x.Offset, B, T, heads, hd);
        var padding = Padding(keyPaddingMask, B, Tk);
        float scale = 1f / MathF.Sqrt(hd);
        if (lastQueryOnly)
        {
            // The last position's query of each row: T positions apart in the packed buffer.
            var last = new HeadLayout(x.Storage, x.Offset + (T - 1) * width, T * width, hd, width);
            var output = Buffers.Uninitialized(B * Dm);
            Forward(last, k, v, HeadLayout.Packed(output, 0, 1, heads, hd, 0, 1), B, heads, 1, Tk, hd, scale, causal: true, null, keepProbs: false, keyRows);
            return Autograd.Record(new Tensor(output, [B, 1, Dm]), "SelfAttentionBackward", [], _ => []);
        }
        var y = Buffers.Uninitialized(B * T * Dm);
        var o = HeadLayout.Packed(y, 0, T, heads, hd, 0, 1);
        var p = Forward(q, k, v, o, B, heads, T, Tk, hd, scale, causal, padding, keepProbs: Autograd.Enabled && qkv.requires_grad, keyRows);
        return Autograd.Record(new Tensor(y, [B, T, Dm]), "SelfAttentionBackward", [qkv], g =>
        {
            var gy = g.contiguous();
            var dO = HeadLayout.Packed(gy.Storage, gy.Offset, T, heads, hd, 0, 1);
            // Without a cache q, k and v tile the gradient exactly; with one only q gets a gradient.
            var dx = cache == null ? Buffers.Uninitialized(B * T * width) : new float[B * T * width];
            Backward(p, dO, q, k, v, HeadLayout.Packed(dx, 0, T, heads, hd, 0, 3),
                cache == null ? HeadLayout.Packed(dx, 0, T, heads, hd, 1, 3) : null,
                cache == null ? HeadLayout.Packed(dx, 0, T, heads, hd, 2, 3) : null, B, heads, T, Tk, hd, scale, causal, keyRows);
            return [new Tensor(dx, [B, T, width])];
        }, scratch: [p]);
    }
}

public static partial class torch
{
    public static partial class nn
    {
        public static partial class functional
        {
            /// <summary>
            /// softmax(q k^T * scale + mask) v for q [B, H, Tq, D] and k, v [B, H, Tk, D], forward and backward fused
            /// per (batch, head) so that no graph of small ops over [B, H, Tq, Tk] is built.
            /// Causal: query i sees keys j &lt;= Tk - Tq + i (queries are the last Tq positions, as with a KV cache).
            /// <paramref name="key_padding_mask"/> [B, Tk]: non-zero = the key may be attended to. A query that sees
            /// no key at all outputs zeros (not NaN).
            /// </summary>
            public static Tensor scaled_dot_product_attention(Tensor query, Tensor key, Tensor value, bool is_causal = false,
                Tensor? key_padding_mask = null, double? scale = null)
            {
                if (query.Sizes.Length != 4 || key.Sizes.Length != 4 || value.Sizes.Length != 4)
                    throw new ArgumentException("scaled_dot_product_attention expects 4-D q, k, v [B, H, T, D]");
                int B = query.Sizes[0], H = query.Sizes[1], Tq = query.Sizes[2], D = query.Sizes[3], Tk = key.Sizes[2];
                if (key.Sizes[0] != B || key.Sizes[1] != H || key.Sizes[3] != D || !key.SameShape(value))
                    throw new ArgumentException($"scaled_dot_product_attention: q {Tensor.ShapeString(query.Sizes)}, k {Tensor.ShapeString(key.Sizes)}, v {Tensor.ShapeString(value.Sizes)} do not match");
                var padding = FusedAttention.Padding(key_padding_mask, B, Tk);
                float sc = (float)(scale ?? 1.0 / Math.Sqrt(D));
                var q = HeadLayout.Of(query);
                var k = HeadLayout.Of(key);
                var v = HeadLayout.Of(value);
                var o = new float[B * H * Tq * D];
                var p = FusedAttention.Forward(q, k, v, HeadLayout.Contiguous(o, H, Tq, D), B, H, Tq, Tk, D, sc, is_causal, padding,
                    keepProbs: Autograd.Enabled && (query.requires_grad || key.requires_grad || value.requires_grad));

                var result = new Tensor(o, [B, H, Tq, D]);
                return Autograd.Record(result, "ScaledDotProductAttentionBackward", [query, key, value], g =>
                {
                    var dO = g.contiguous();
                    float[]? dq = query.requires_grad ? new float[B * H * Tq * D] : null;
                    float[]? dk = key.requires_grad ? new float[B * H * Tk * D] : null;
                    float[]? dv = value.requires_grad ? new float[B * H * Tk * D] : null;
                    FusedAttention.Backward(p, new HeadLayout(dO.Storage, dO.Offset, H * Tq * D, Tq * D, D), q, k, v,
                        dq == null ? null : HeadLayout.Contiguous(dq, H, Tq, D),
                        dk == null ? null : HeadLayout.Contiguous(dk, H, Tk, D),
                        dv == null ? null : HeadLayout.Contiguous(dv, H, Tk, D), B, H, Tq, Tk, D, sc, is_causal);
                    return
                    [
                        dq == null ? null : new Tensor(dq, [B, H, Tq, D]),
                        dk == null ? null : new Tensor(dk, [B, H, Tk, D]),
                        dv == null ? null : new Tensor(dv, [B, H, Tk, D]),
                    ];
                });
            }
        }
    }
}
