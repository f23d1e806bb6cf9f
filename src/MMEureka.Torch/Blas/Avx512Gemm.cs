using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MMEureka.Torch.Blas;

/// <summary>
/// SGEMM for the transformer's products, where one of m, n, k is the model width (128 .. 512): a 12 x 32 register
/// tile (24 of the 32 zmm registers) updated with 512-bit FMAs. op(B) is packed one k-block at a time into 32-column
/// panels that stay in L2 (k up to 512 in one block); each 12-row block of op(A) is copied once per k-block in its
/// own orientation (whole rows, or 12 contiguous values per k when transposed), so the copy reads memory
/// sequentially and the kernel broadcasts from L1. Slices of C run one per core. Needs AVX-512
/// (<see cref="IsSupported"/>); <see cref="Gemm.Avx512Products"/> says which products come here and why.
/// </summary>
internal static unsafe class Avx512Gemm
{
    internal const int MR = 12, NR = 32;
    /// <summary>Largest k-block: 512 x 32 floats (64 KB) per panel of packed B.</summary>
    internal const int KC = 512;

    /// <summary>Packed B (all panels of one k-block) is kept within this many floats (512 KB, half of a Zen 4 core's
    /// L2): k up to 512 then needs one block, so C is written once instead of read back for every block.</summary>
    const int PackedBFloats = 1 << 17;

    /// <summary>True when the CPU runs Vector512 natively.</summary>
    public static bool IsSupported => Vector512.IsHardwareAccelerated;

    [ThreadStatic] static float[]? packBuffer;

    /// <summary>C = op(A) op(B) + C when <paramref name="accumulate"/>, else C = op(A) op(B) (+ bias[j] in every row
    /// when <paramref name="bias"/> is given: the linear layer's bias, added as the tile is stored instead of in a
    /// separate pass over C), on up to <paramref name="maxThreads"/> threads; then <paramref name="rowsDone"/>(first
    /// row, rows), if given, on each finished 12-row strip by the thread that computed it. Trusts its arguments
    /// (validated by <see cref="Gemm"/>; k &gt; 0).</summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k,
        float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb, bool accumulate, float[] c, int cOffset, int ldc, int maxThreads,
        float[]? bias = null, int biasOffset = 0, Action<int, int>? rowsDone = null)
    {
        if (bias != null && accumulate) throw new ArgumentException("a bias is added to a fresh C only", nameof(bias));
        if (!IsSupported) throw new PlatformNotSupportedException("Avx512Gemm needs Vector512 hardware acceleration");
        // One slice of C per thread, cut across the larger of m and n, so that each thread packs only its share of the
        // larger operand (a weight gradient's 3072 x 512 activations are not packed twice); a strip epilogue needs
        // whole rows, hence row slices then.
        bool splitRows = m >= n || rowsDone != null;
        int granule = splitRows ? MR : NR;
        int tiles = ((splitRows ? m : n) + granule - 1) / granule;
        int parts = Math.Min(Math.Max(1, maxThreads), tiles);
        if (parts == 1)
        {
            Serial(transA, transB, m, n, k, a, aOffset, lda, b, bOffset, ldb, accumulate, c, cOffset, ldc, bias, biasOffset, rowsDone, 0);
            return;
        }
        void Part(int part)
        {
            int t0 = (int)((long)tiles * part / parts) * granule, t1 = Math.Min((int)((long)tiles * (part + 1) / parts) * granule, splitRows ? m : n);
            if (t1 <= t0) return;
            if (splitRows)
                Serial(transA, transB, t1 - t0, n, k, a, aOffset + (transA ? t0 : t0 * lda), lda, b, bOffset, ldb,
                    accumulate, c, cOffset + t0 * ldc, ldc, bias, biasOffset, rowsDone, t0);
            else
                Serial(transA, transB, m, t1 - t0, k, a, aOffset, lda, b, bOffset + (transB ? t0 * ldb : t0), ldb,
                    accumulate, c, cOffset + t0, ldc, bias, biasOffset + t0, null, 0);
        }
        if (!CoreTeam.TryRun(parts, Part))
            Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, Part);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit] // the stackalloc'd blocks are written before use
    static void Serial(bool transA, bool transB, int m, int n, int k,
        float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb, bool accumulate, float[] c, int cOffset, int ldc,
        float[]? bias, int biasOffset, Action<int, int>? rowsDone, int firstRow)
    {
        int nPadded = (n + NR - 1) / NR * NR;
        int kcMax = Math.Min(k, Math.Clamp(PackedBFloats / nPadded / 64 * 64, 64, KC));
        var pack = packBuffer;
        if (pack == null || pack.Length < kcMax * nPadded) packBuffer = pack = GC.AllocateUninitializedArray<float>(kcMax * nPadded, pinned: true);
        // op(A)[i, p] = a[i * rs + p * ps]
        long rs = transA ? 1 : lda, ps = transA ? lda : 1;
        float* tile = stackalloc float[MR * NR];
        float* blockA = stackalloc float[MR * KC];
        fixed (float* pa0 = a, pb0 = b, pc0 = c, packed = pack, pbias0 = bias)
        {
            float* pa = pa0 + aOffset, pb = pb0 + bOffset, pc = pc0 + cOffset, pbias = bias == null ? null : pbias0 + biasOffset;
            for (int p0 = 0; p0 < k; p0 += kcMax)
            {
                int kc = Math.Min(kcMax, k - p0);
                bool add = accumulate || p0 > 0;
                float* rowBias = add ? null : pbias; // later k-blocks add to C, which already holds the bias
                PackB(transB, transB ? pb + p0 : pb + (long)p0 * ldb, ldb, kc, n, packed);
                float* ak = pa + p0 * ps;
                for (int i = 0; i < m; i += MR)
                {
                    int rows = Math.Min(MR, m - i);
                    // The 12 rows x kc block of op(A), zero-padded below the last row, copied with sequential reads
                    // (reading it in place, 12 strided streams from memory, measured slower on cold activations).
                    var (brs, bps) = PackA(ak + i * rs, rs, ps, rows, kc, blockA);
                    for (int j = 0; j < n; j += NR)
                    {
                        int cols = Math.Min(NR, n - j);
                        float* panel = packed + (long)j * kc;
                        float* cij = pc + (long)i * ldc + j;
                        if (rows == MR && cols == NR)
                        {
                            // C's lines are requested now, while the kernel's FMAs (~kc * 24 cycles) hide the wait.
                            if (Sse.IsSupported)
                                for (int r = 0; r < MR; r++)
                                {
                                    Sse.Prefetch0(cij + (long)r * ldc);
                                    Sse.Prefetch0(cij + (long)r * ldc + 16);
                                }
                            Kernel(kc, blockA, brs, bps, panel, cij, ldc, add, rowBias == null ? null : rowBias + j);
                            continue;
                        }
                        Kernel(kc, blockA, brs, bps, panel, tile, NR, false, null);
                        for (int r = 0; r < rows; r++)
                            for (int q = 0; q < cols; q++)
                                cij[(long)r * ldc + q] = add ? cij[(long)r * ldc + q] + tile[r * NR + q]
                                    : rowBias != null ? tile[r * NR + q] + rowBias[j + q] : tile[r * NR + q];
                    }
                    if (rowsDone != null && p0 + kc == k) rowsDone(firstRow + i, rows);
                }
            }
        }
    }

    /// <summary>Copies op(A)[0..rows, 0..kc] (op(A)[r, p] = a[r * rs + p * ps]) into dst, rows after
    /// <paramref name="rows"/> zero, keeping A's own orientation so that every read is contiguous; returns dst's
    /// (row, k) strides: (kc, 1) for untransposed A, (1, 12) for transposed A.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static (long rs, long ps) PackA(float* a, long rs, long ps, int rows, int kc, float* dst)
    {
        if (ps == 1)
        {
            for (int r = 0; r < MR; r++)
            {
                var row = new Span<float>(dst + r * kc, kc);
                if (r < rows) new ReadOnlySpan<float>(a + r * rs, kc).CopyTo(row);
                else row.Clear();
            }
            return (kc, 1);
        }
        // Transposed A: the 12 values of one p are contiguous.
        for (int p = 0; p < kc; p++)
        {
            float* src = a + p * ps, d = dst + p * MR;
            if (rows == MR)
            {
                Vector256.Store(Vector256.Load(src), d);
                Vector128.Store(Vector128.Load(src + 8), d + 8);
            }
            else for (int r = 0; r < MR; r++) d[r] = r < rows ? src[r] : 0f;
        }
        return (1, MR);
    }

    /// <summary>Packs op(B) (kc x n, the current k-block) as 32-column panels panel[p * 32 + j], zero-padded.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void PackB(bool transB, float* b, int ldb, int kc, int n, float* dst)
    {
        for (int j0 = 0; j0 < n; j0 += NR)
        {
            int cols = Math.Min(NR, n - j0);
            float* panel = dst + (long)j0 * kc;
            if (!transB && cols == NR)
            {
                for (int p = 0; p < kc; p++)
                {
                    float* src = b + (long)p * ldb + j0;
                    Vector512.Store(Vector512.Load(src), panel + p * NR);
                    Vector512.Store(Vector512.Load(src + 16), panel + p * NR + 16);
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

    /// <summary>C[12 x 32] = (or +=) sum over p of a[r * rs + p * ps] * b[p * 32 + :] (b a packed panel), plus
    /// bias[0..32) in every row when <paramref name="bias"/> is not null (and C is not accumulated).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Kernel(int kc, float* a, long rs, long ps, float* b, float* c, int ldc, bool accumulate, float* bias)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default,
            c60 = default, c61 = default, c70 = default, c71 = default, c80 = default, c81 = default,
            c90 = default, c91 = default, ca0 = default, ca1 = default, cb0 = default, cb1 = default;
        float* a0 = a, a1 = a + rs, a2 = a + 2 * rs, a3 = a + 3 * rs, a4 = a + 4 * rs, a5 = a + 5 * rs;
        float* a6 = a + 6 * rs, a7 = a + 7 * rs, a8 = a + 8 * rs, a9 = a + 9 * rs, aa = a + 10 * rs, ab = a + 11 * rs;
        for (long p = 0, o = 0; p < kc; p++, o += ps, b += NR)
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
    static void Store(float* dst, Vector512<float> x0, Vector512<float> x1, bool accumulate)
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
