using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MMEureka.Torch.Blas;

/// <summary>A register tile of C and the micro-kernel that fills it: MR rows x NR columns, updated once per k with
/// NR-wide rows of packed B and MR broadcast values of A.</summary>
internal interface ITile
{
    /// <summary>Rows of the tile.</summary>
    static abstract int MR { get; }
    /// <summary>Columns of the tile, a multiple of 16: the driver prefetches C 16 floats (a cache line) at a time and
    /// copies B into panels 8 floats at a time.</summary>
    static abstract int NR { get; }
    /// <summary>True when the CPU runs the kernel's vectors natively.</summary>
    static abstract bool IsSupported { get; }

    /// <summary>C[MR x NR] = (or += when <paramref name="accumulate"/>) sum over p of a[r * rs + p * ps] * b[p * NR + :]
    /// (b a packed panel), plus bias[0..NR) in every row when <paramref name="bias"/> is not null (C not accumulated).</summary>
    static abstract unsafe void Kernel(int kc, float* a, long rs, long ps, float* b, float* c, int ldc, bool accumulate, float* bias);
}

/// <summary>12 x 32 with 512-bit FMAs: 24 of the 32 zmm registers hold C.</summary>
internal readonly struct Tile12x32 : ITile
{
    public static int MR => 12;
    public static int NR => 32;
    public static bool IsSupported => Vector512.IsHardwareAccelerated;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Kernel(int kc, float* a, long rs, long ps, float* b, float* c, int ldc, bool accumulate, float* bias)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default,
            c60 = default, c61 = default, c70 = default, c71 = default, c80 = default, c81 = default,
            c90 = default, c91 = default, ca0 = default, ca1 = default, cb0 = default, cb1 = default;
        float* a0 = a, a1 = a + rs, a2 = a + 2 * rs, a3 = a + 3 * rs, a4 = a + 4 * rs, a5 = a + 5 * rs;
        float* a6 = a + 6 * rs, a7 = a + 7 * rs, a8 = a + 8 * rs, a9 = a + 9 * rs, aa = a + 10 * rs, ab = a + 11 * rs;
        for (long p = 0, o = 0; p < kc; p++, o += ps, b += 32)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            var x = Vector512.Create(a0[o]); c00 = Vector512.FusedMultiplyAdd(x, b0, c00); c01 = Vector512.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a1[o]); c10 = Vector512.FusedMultiplyAdd(x, b0, c10); c11 = Vector512.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a2[o]); c20 = Vector512.FusedMultiplyAdd(x, b0, c20); c21 = Vector512.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a3[o]); c30 = Vector512.FusedMultiplyAdd(x, b0, c30); c31 = Vector512.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(a4[o]); c40 = Vector512.FusedMultiplyAdd(x, b0, c40); c41 = Vector512.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(a5[o]); c50 = Vector512.FusedMultiplyAdd(x, b0, c50); c51 = Vector512.FusedMultiplyAdd(x, b1, c51);
            x = Vector512.Create(a6[o]); c60 = Vector512.FusedMultiplyAdd(x, b0, c60); c61 = Vector512.FusedMultiplyAdd(x, b1, c61);
            x = Vector512.Create(a7[o]); c70 = Vector512.FusedMultiplyAdd(x, b0, c70); c71 = Vector512.FusedMultiplyAdd(x, b1, c71);
            x = Vector512.Create(a8[o]); c80 = Vector512.FusedMultiplyAdd(x, b0, c80); c81 = Vector512.FusedMultiplyAdd(x, b1, c81);
            x = Vector512.Create(a9[o]); c90 = Vector512.FusedMultiplyAdd(x, b0, c90); c91 = Vector512.FusedMultiplyAdd(x, b1, c91);
            x = Vector512.Create(aa[o]); ca0 = Vector512.FusedMultiplyAdd(x, b0, ca0); ca1 = Vector512.FusedMultiplyAdd(x, b1, ca1);
            x = Vector512.Create(ab[o]); cb0 = Vector512.FusedMultiplyAdd(x, b0, cb0); cb1 = Vector512.FusedMultiplyAdd(x, b1, cb1);
        }
        if (bias != null)
        {
            var b0 = Vector512.Load(bias);
            var b1 = Vector512.Load(bias + 16);
            c00 += b0; c01 += b1; c10 += b0; c11 += b1; c20 += b0; c21 += b1; c30 += b0; c31 += b1;
            c40 += b0; c41 += b1; c50 += b0; c51 += b1; c60 += b0; c61 += b1; c70 += b0; c71 += b1;
            c80 += b0; c81 += b1; c90 += b0; c91 += b1; ca0 += b0; ca1 += b1; cb0 += b0; cb1 += b1;
        }
        Store(c, c00, c01, accumulate); Store(c + ldc, c10, c11, accumulate); Store(c + 2 * ldc, c20, c21, accumulate);
        Store(c + 3 * ldc, c30, c31, accumulate); Store(c + 4 * ldc, c40, c41, accumulate); Store(c + 5 * ldc, c50, c51, accumulate);
        Store(c + 6 * ldc, c60, c61, accumulate); Store(c + 7 * ldc, c70, c71, accumulate); Store(c + 8 * ldc, c80, c81, accumulate);
        Store(c + 9 * ldc, c90, c91, accumulate); Store(c + 10 * ldc, ca0, ca1, accumulate); Store(c + 11 * ldc, cb0, cb1, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void Store(float* dst, Vector512<float> x0, Vector512<float> x1, bool accumulate)
    {
        if (accumulate)
        {
            x0 += Vector512.Load(dst);
            x1 += Vector512.Load(dst + 16);
        }
        Vector512.Store(x0, dst);
        Vector512.Store(x1, dst + 16);
    }
}

/// <summary>6 x 16 with 256-bit FMAs: 12 of the 16 ymm registers hold C, two hold the row of B and one the broadcast
/// value of A (the shape of OpenBLAS's and BLIS's Haswell kernels).</summary>
internal readonly struct Tile6x16 : ITile
{
    public static int MR => 6;
    public static int NR => 16;
    public static bool IsSupported => Vector256.IsHardwareAccelerated && Fma.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Kernel(int kc, float* a, long rs, long ps, float* b, float* c, int ldc, bool accumulate, float* bias)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        float* a0 = a, a1 = a + rs, a2 = a + 2 * rs, a3 = a + 3 * rs, a4 = a + 4 * rs, a5 = a + 5 * rs;
        for (long p = 0, o = 0; p < kc; p++, o += ps, b += 16)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            var x = Vector256.Create(a0[o]); c00 = Vector256.FusedMultiplyAdd(x, b0, c00); c01 = Vector256.FusedMultiplyAdd(x, b1, c01);
            x = Vector256.Create(a1[o]); c10 = Vector256.FusedMultiplyAdd(x, b0, c10); c11 = Vector256.FusedMultiplyAdd(x, b1, c11);
            x = Vector256.Create(a2[o]); c20 = Vector256.FusedMultiplyAdd(x, b0, c20); c21 = Vector256.FusedMultiplyAdd(x, b1, c21);
            x = Vector256.Create(a3[o]); c30 = Vector256.FusedMultiplyAdd(x, b0, c30); c31 = Vector256.FusedMultiplyAdd(x, b1, c31);
            x = Vector256.Create(a4[o]); c40 = Vector256.FusedMultiplyAdd(x, b0, c40); c41 = Vector256.FusedMultiplyAdd(x, b1, c41);
            x = Vector256.Create(a5[o]); c50 = Vector256.FusedMultiplyAdd(x, b0, c50); c51 = Vector256.FusedMultiplyAdd(x, b1, c51);
        }
        if (bias != null)
        {
            var b0 = Vector256.Load(bias);
            var b1 = Vector256.Load(bias + 8);
            c00 += b0; c01 += b1; c10 += b0; c11 += b1; c20 += b0; c21 += b1;
            c30 += b0; c31 += b1; c40 += b0; c41 += b1; c50 += b0; c51 += b1;
        }
        Store(c, c00, c01, accumulate); Store(c + ldc, c10, c11, accumulate); Store(c + 2 * ldc, c20, c21, accumulate);
        Store(c + 3 * ldc, c30, c31, accumulate); Store(c + 4 * ldc, c40, c41, accumulate); Store(c + 5 * ldc, c50, c51, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void Store(float* dst, Vector256<float> x0, Vector256<float> x1, bool accumulate)
    {
        if (accumulate)
        {
            x0 += Vector256.Load(dst);
            x1 += Vector256.Load(dst + 8);
        }
        Vector256.Store(x0, dst);
        Vector256.Store(x1, dst + 8);
    }
}

/// <summary>
/// SGEMM for the transformer's products, where one of m, n, k is the model width (128 .. 512), on a register tile
/// (<see cref="Tile12x32"/> with AVX-512, <see cref="Tile6x16"/> with AVX2). op(B) is packed one k-block at a time
/// into NR-column panels that stay in L2 (k up to 512 in one block). op(A) is copied once per k-block in its own
/// orientation so that the copy reads memory sequentially and the kernel broadcasts from L1: MR whole rows at a time,
/// or, transposed (a weight gradient's dY^T), up to <see cref="TransposedAFloats"/> floats of it at once, each stored
/// row read once across all its tiles. Slices of C run one per core. <see cref="Gemm.TiledProducts"/> says which
/// products come here and why.
/// </summary>
internal static unsafe class TiledGemm
{
    /// <summary>Largest k-block: 512 x NR floats per panel of packed B.</summary>
    internal const int KC = 512;

    /// <summary>Packed B (all panels of one k-block) is kept within this many floats (512 KB: half of a Zen 4 core's
    /// L2, all of a Zen 3 core's; the transformer's products here pack at most 256 KB): k up to 512 then needs one
    /// block, so C is written once instead of read back for every block.</summary>
    const int PackedBFloats = 1 << 17;

    /// <summary>Transposed A is packed this many floats (128 KB) at a time: 60 rows of a 512-deep k-block, 120 of a
    /// 256-deep one.
    /// Packing MR rows at a time read MR floats (24 or 48 bytes) from each of kc rows 2 KB apart, a new page every
    /// other row, once per tile row: on one Zen 3 core the weight gradients ran at 41 GFLOP/s against OpenBLAS's 66.</summary>
    internal const int TransposedAFloats = 1 << 15;

    [ThreadStatic] static float[]? packB, packA;

    /// <summary>C = op(A) op(B) + C when <paramref name="accumulate"/>, else C = op(A) op(B) (+ bias[j] in every row
    /// when <paramref name="bias"/> is given: the linear layer's bias, added as the tile is stored instead of in a
    /// separate pass over C), on up to <paramref name="maxThreads"/> threads; then <paramref name="rowsDone"/>(first
    /// row, rows), if given, on each finished strip of MR rows by the thread that computed it. Trusts its arguments
    /// (validated by <see cref="Gemm"/>; k &gt; 0).</summary>
    public static void Sgemm<T>(bool transA, bool transB, int m, int n, int k,
        float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb, bool accumulate, float[] c, int cOffset, int ldc, int maxThreads,
        float[]? bias = null, int biasOffset = 0, Action<int, int>? rowsDone = null) where T : ITile
    {
        if (bias != null && accumulate) throw new ArgumentException("a bias is added to a fresh C only", nameof(bias));
        if (!T.IsSupported) throw new PlatformNotSupportedException($"{typeof(T).Name} is not supported by this CPU");
        // One slice of C per thread, cut across the larger of m and n, so that each thread packs only its share of the
        // larger operand (a weight gradient's 3072 x 512 activations are not packed twice); a strip epilogue needs
        // whole rows, hence row slices then.
        bool splitRows = m >= n || rowsDone != null;
        // The k-block depth comes from the whole product's n, not a part's, so that a product's bits do not depend on
        // how many parts it was cut into (a column part of half the width would get twice the depth).
        int kcMax = KBlock<T>(n, k);
        int granule = splitRows ? T.MR : T.NR;
        int tiles = ((splitRows ? m : n) + granule - 1) / granule;
        int parts = Math.Min(Math.Max(1, maxThreads), tiles);
        if (parts == 1)
        {
            Serial<T>(transA, transB, m, n, k, kcMax, a, aOffset, lda, b, bOffset, ldb, accumulate, c, cOffset, ldc, bias, biasOffset, rowsDone, 0);
            return;
        }
        CoreTeam.RunSlices(splitRows ? m : n, granule, parts, (t0, t1) =>
        {
            if (splitRows)
                Serial<T>(transA, transB, t1 - t0, n, k, kcMax, a, aOffset + (transA ? t0 : t0 * lda), lda, b, bOffset, ldb,
                    accumulate, c, cOffset + t0 * ldc, ldc, bias, biasOffset, rowsDone, t0);
            else
                Serial<T>(transA, transB, m, t1 - t0, k, kcMax, a, aOffset, lda, b, bOffset + (transB ? t0 * ldb : t0), ldb,
                    accumulate, c, cOffset + t0, ldc, bias, biasOffset + t0, null, 0);
        });
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit] // the stackalloc'd tile is written before use
    static void Serial<T>(bool transA, bool transB, int m, int n, int k, int kcMax,
        float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb, bool accumulate, float[] c, int cOffset, int ldc,
        float[]? bias, int biasOffset, Action<int, int>? rowsDone, int firstRow) where T : ITile
    {
        int MR = T.MR, NR = T.NR;
        int nPadded = (n + NR - 1) / NR * NR;
        // Rows of op(A) packed at a time: MR untransposed; transposed, as many whole tiles as fit TransposedAFloats.
        int chunkRows = transA ? Math.Max(1, TransposedAFloats / (MR * kcMax)) * MR : MR;
        var bPack = packB;
        if (bPack == null || bPack.Length < kcMax * nPadded) packB = bPack = GC.AllocateUninitializedArray<float>(kcMax * nPadded, pinned: true);
        var aPack = packA;
        if (aPack == null || aPack.Length < chunkRows * kcMax) packA = aPack = GC.AllocateUninitializedArray<float>(chunkRows * kcMax, pinned: true);
        // op(A)[i, p] = a[i * rs + p * ps]
        long rs = transA ? 1 : lda, ps = transA ? lda : 1;
        float* tile = stackalloc float[MR * NR];
        fixed (float* pa0 = a, pb0 = b, pc0 = c, packedB = bPack, packedA = aPack, pbias0 = bias)
        {
            float* pa = pa0 + aOffset, pb = pb0 + bOffset, pc = pc0 + cOffset, pbias = bias == null ? null : pbias0 + biasOffset;
            for (int p0 = 0; p0 < k; p0 += kcMax)
            {
                int kc = Math.Min(kcMax, k - p0);
                bool add = accumulate || p0 > 0;
                float* rowBias = add ? null : pbias; // later k-blocks add to C, which already holds the bias
                bool last = p0 + kc == k;
                // Packed A's (row, k) strides inside a tile: whole rows untransposed, MR values per k transposed.
                long brs = transA ? 1 : kc, bps = transA ? MR : 1;
                PackB<T>(transB, transB ? pb + p0 : pb + (long)p0 * ldb, ldb, kc, n, packedB);
                float* ak = pa + p0 * ps;
                for (int i0 = 0; i0 < m; i0 += chunkRows)
                {
                    int chunk = Math.Min(chunkRows, m - i0);
                    // Each tile of the chunk as MR rows x kc, zero-padded below the last row, copied with sequential
                    // reads (reading A in place, MR strided streams from memory, measured slower on cold activations).
                    if (transA) PackTransposedA<T>(ak + i0, lda, chunk, kc, packedA);
                    else
                        for (int t = 0; t < chunk; t += MR)
                            PackRows(ak + (i0 + t) * rs, rs, Math.Min(MR, chunk - t), MR, kc, kc, packedA + (long)t * kc);
                    for (int i = i0; i < i0 + chunk; i += MR)
                    {
                        int rows = Math.Min(MR, m - i);
                        for (int j = 0; j < n; j += NR)
                            Tile<T>(kc, packedA + (long)(i - i0) * kc, brs, bps, packedB + (long)j * kc, pc + (long)i * ldc + j, ldc,
                                rows, Math.Min(NR, n - j), add, rowBias == null ? null : rowBias + j, tile);
                        if (rowsDone != null && last) rowsDone(firstRow + i, rows);
                    }
                }
            }
        }
    }

    /// <summary>One tile of C (rows x cols of at most MR x NR at <paramref name="cij"/>) from a packed tile of A and
    /// a panel of B: in place when whole, else through <paramref name="scratch"/> and only the valid part stored.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Tile<T>(int kc, float* blockA, long brs, long bps, float* panel, float* cij, int ldc, int rows, int cols,
        bool add, float* bias, float* scratch) where T : ITile
    {
        int MR = T.MR, NR = T.NR;
        if (rows == MR && cols == NR)
        {
            // C's lines are requested now, while the kernel's FMAs (~kc * MR * NR / 32 cycles) hide the wait.
            if (Sse.IsSupported)
                for (int r = 0; r < MR; r++)
                    for (int q = 0; q < NR; q += 16) Sse.Prefetch0(cij + (long)r * ldc + q);
            T.Kernel(kc, blockA, brs, bps, panel, cij, ldc, add, bias);
            return;
        }
        T.Kernel(kc, blockA, brs, bps, panel, scratch, NR, false, null);
        for (int r = 0; r < rows; r++)
            for (int q = 0; q < cols; q++)
                cij[(long)r * ldc + q] = add ? cij[(long)r * ldc + q] + scratch[r * NR + q]
                    : bias != null ? scratch[r * NR + q] + bias[q] : scratch[r * NR + q];
    }

    /// <summary>The k-block depth for a product with <paramref name="n"/> columns: as deep as packed B's budget
    /// allows, in steps of 64, between 64 and <see cref="KC"/>, at most k.</summary>
    static int KBlock<T>(int n, int k) where T : ITile
    {
        int nPadded = (n + T.NR - 1) / T.NR * T.NR;
        return Math.Min(k, Math.Clamp(PackedBFloats / nPadded / 64 * 64, 64, KC));
    }

    /// <summary>Copies rows [0, rows) x [0, kc) of untransposed A (rows rs apart) into dst with row stride
    /// <paramref name="ld"/>, rows up to <paramref name="mr"/> zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void PackRows(float* a, long rs, int rows, int mr, int kc, int ld, float* dst)
    {
        for (int r = 0; r < mr; r++)
        {
            var row = new Span<float>(dst + (long)r * ld, kc);
            if (r < rows) new ReadOnlySpan<float>(a + r * rs, kc).CopyTo(row);
            else row.Clear();
        }
    }

    /// <summary>Packs rows [0, rows) of op(A) = A^T (op(A)[r, p] = a[p * lda + r]) for k in [0, kc) as consecutive
    /// tiles of MR rows, tile t at dst + t * MR * kc with value (r, p) at p * MR + r, zero-padded to whole tiles:
    /// each stored row p is read once, contiguously, for all tiles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void PackTransposedA<T>(float* a, int lda, int rows, int kc, float* dst) where T : ITile
    {
        int MR = T.MR;
        int full = rows / MR;
        for (int p = 0; p < kc; p++)
        {
            float* src = a + (long)p * lda, d = dst + p * MR;
            // MR is a constant once the JIT specialises T: a fixed-size copy of 24 or 48 bytes becomes a few vector
            // moves, where a span copy was a memmove call per tile row.
            for (int t = 0; t < full; t++, src += MR, d += (long)MR * kc)
                Unsafe.CopyBlockUnaligned(d, src, (uint)(MR * sizeof(float)));
            if (full * MR < rows)
                for (int r = 0; r < MR; r++) d[r] = full * MR + r < rows ? src[r] : 0f;
        }
    }

    /// <summary>Packs op(B) (kc x n, the current k-block) as NR-column panels panel[p * NR + j], zero-padded.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void PackB<T>(bool transB, float* b, int ldb, int kc, int n, float* dst) where T : ITile
    {
        int NR = T.NR;
        for (int j0 = 0; j0 < n; j0 += NR)
        {
            int cols = Math.Min(NR, n - j0);
            float* panel = dst + (long)j0 * kc;
            if (!transB && cols == NR)
            {
                for (int p = 0; p < kc; p++)
                {
                    float* src = b + (long)p * ldb + j0, d = panel + p * NR;
                    for (int q = 0; q < NR; q += 8) Vector256.Store(Vector256.Load(src + q), d + q);
                }
            }
            else if (!transB)
            {
                for (int p = 0; p < kc; p++)
                    for (int j = 0; j < NR; j++) panel[p * NR + j] = j < cols ? b[(long)p * ldb + j0 + j] : 0f;
            }
            else
            {
                // op(B)[p, j] = B[j, p]: each stored row is read contiguously and scattered into column j.
                for (int j = 0; j < NR; j++)
                {
                    if (j < cols)
                    {
                        float* src = b + (long)(j0 + j) * ldb;
                        for (int p = 0; p < kc; p++) panel[p * NR + j] = src[p];
                    }
                    else for (int p = 0; p < kc; p++) panel[p * NR + j] = 0f;
                }
            }
        }
    }
}
