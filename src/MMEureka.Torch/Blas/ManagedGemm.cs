using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MMEureka.Torch.Blas;

/// <summary>Which register micro-kernel the managed GEMM uses (tests pin one; production picks by CPU).</summary>
internal enum ManagedKernel { Auto, Avx2Fma, Portable }

/// <summary>
/// Managed blocked SGEMM in the Goto/BLIS layout: op(B) is packed into KC x NR column panels, op(A) into
/// MC x KC blocks of MR-row panels, and a 6 x 16 register tile (12 Vector256 accumulators) is updated with FMA.
/// Transposes are absorbed by the packing routines, so no operand is ever copied whole. Edges are handled by
/// zero-padding the packed panels and writing only the valid part of the tile. Large products are split into one
/// independent slice of C per core.
/// </summary>
public static unsafe class ManagedGemm
{
    internal const int MR = 6, NR = 16;
    // KC x NR panel of B (16 KB) stays in L1 across the MR panels of A; the MC x KC block of A (120 KB) in L2.
    internal const int MC = 120, KC = 256, NC = 3072;

    /// <summary>
    /// Below this many multiply-adds (m*n*k) one thread does the whole product: under ~4M (n = 160) a product takes
    /// under ~50 us, and waking a pool thread and packing B twice cost more than the split saves (measured at n = 64..256).
    /// </summary>
    public static long ParallelThreshold { get; set; } = 1L << 22;

    /// <summary>Micro-kernel that <see cref="ManagedKernel.Auto"/> resolves to on this CPU.</summary>
    public static string KernelName => Avx2.IsSupported && Fma.IsSupported ? "avx2-fma 6x16" : "portable 6x16";

    [ThreadStatic] static float[]? packABuffer;
    [ThreadStatic] static float[]? packBBuffer;

    /// <summary>
    /// C = alpha * op(A) * op(B) + beta * C on all cores. Internal because it trusts its arguments (validated by
    /// <see cref="Gemm.SgemmWith"/>, k &gt; 0) and indexes through raw pointers.
    /// </summary>
    internal static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb, float beta, float[] c, int cOffset, int ldc)
        => Sgemm(transA, transB, m, n, k, alpha, a, aOffset, lda, b, bOffset, ldb, beta, c, cOffset, ldc,
            ManagedKernel.Auto, Environment.ProcessorCount);

    internal static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb, float beta, float[] c, int cOffset, int ldc,
        ManagedKernel kernel, int maxThreads)
    {
        if (m == 0 || n == 0) return;
        bool avx = kernel switch
        {
            ManagedKernel.Auto => Avx2.IsSupported && Fma.IsSupported,
            ManagedKernel.Avx2Fma => Avx2.IsSupported && Fma.IsSupported
                ? true : throw new PlatformNotSupportedException("AVX2/FMA kernel requested on a CPU without AVX2+FMA"),
            _ => false,
        };

        // Slice the larger of m and n into equal, tile-aligned parts, one per thread; each part packs its own panels.
        bool splitRows = m >= n;
        int granule = splitRows ? MR : NR;
        int tiles = ((splitRows ? m : n) + granule - 1) / granule;
        int parts = (long)m * n * k < ParallelThreshold ? 1 : Math.Min(Math.Max(1, maxThreads), tiles);
        if (parts == 1)
        {
            Serial(transA, transB, m, n, k, alpha, a, aOffset, lda, b, bOffset, ldb, beta, c, cOffset, ldc, avx);
            return;
        }
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, part =>
        {
            int t0 = (int)((long)tiles * part / parts) * granule, t1 = (int)((long)tiles * (part + 1) / parts) * granule;
            if (splitRows)
            {
                int rows = Math.Min(t1, m) - t0;
                Serial(transA, transB, rows, n, k, alpha, a, aOffset + (transA ? t0 : t0 * lda), lda,
                    b, bOffset, ldb, beta, c, cOffset + t0 * ldc, ldc, avx);
            }
            else
            {
                int cols = Math.Min(t1, n) - t0;
                Serial(transA, transB, m, cols, k, alpha, a, aOffset, lda,
                    b, bOffset + (transB ? t0 * ldb : t0), ldb, beta, c, cOffset + t0, ldc, avx);
            }
        });
    }

    static float[] Buffer(ref float[]? cache, int size)
    {
        if (cache == null || cache.Length < size) cache = GC.AllocateUninitializedArray<float>(size, pinned: true);
        return cache;
    }

    static void Serial(bool transA, bool transB, int m, int n, int k, float alpha,
        float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb, float beta, float[] c, int cOffset, int ldc, bool avx)
    {
        int kcMax = Math.Min(KC, k);
        float[] packA = Buffer(ref packABuffer, RoundUp(Math.Min(MC, m), MR) * kcMax);
        float[] packB = Buffer(ref packBBuffer, RoundUp(Math.Min(NC, n), NR) * kcMax);
        fixed (float* pa0 = a, pb0 = b, pc0 = c, packedA = packA, packedB = packB)
        {
            float* pa = pa0 + aOffset, pb = pb0 + bOffset, pc = pc0 + cOffset;
            for (int jc = 0; jc < n; jc += NC)
            {
                int nc = Math.Min(NC, n - jc);
                for (int pcol = 0; pcol < k; pcol += KC)
                {
                    int kc = Math.Min(KC, k - pcol);
                    // beta applies once, on the first slice of k; later slices accumulate.
                    float betaNow = pcol == 0 ? beta : 1f;
                    PackB(transB, pb, ldb, pcol, jc, kc, nc, packedB);
                    for (int ic = 0; ic < m; ic += MC)
                    {
                        int mc = Math.Min(MC, m - ic);
                        PackA(transA, pa, lda, ic, pcol, mc, kc, packedA);
                        for (int jr = 0; jr < nc; jr += NR)
                        {
                            float* bPanel = packedB + (long)jr * kc;
                            int cols = Math.Min(NR, nc - jr);
                            for (int ir = 0; ir < mc; ir += MR)
                            {
                                float* cTile = pc + (long)(ic + ir) * ldc + jc + jr;
                                int rows = Math.Min(MR, mc - ir);
                                if (avx) KernelAvx2(kc, packedA + (long)ir * kc, bPanel, cTile, ldc, alpha, betaNow, rows, cols);
                                else KernelPortable(kc, packedA + (long)ir * kc, bPanel, cTile, ldc, alpha, betaNow, rows, cols);
                            }
                        }
                    }
                }
            }
        }
    }

    static int RoundUp(int x, int multiple) => (x + multiple - 1) / multiple * multiple;

    /// <summary>Packs op(A)[i0.., p0..] (mc x kc) as MR-row panels, each stored k-major: panel[p * MR + r].</summary>
    static void PackA(bool transA, float* a, int lda, int i0, int p0, int mc, int kc, float* dst)
    {
        for (int ir = 0; ir < mc; ir += MR)
        {
            int rows = Math.Min(MR, mc - ir);
            float* panel = dst + (long)ir * kc;
            if (transA)
            {
                // op(A)[i, p] = A[p, i]: the MR values for one p are contiguous in memory.
                float* src = a + (long)p0 * lda + i0 + ir;
                for (int p = 0; p < kc; p++, src += lda, panel += MR)
                {
                    int r = 0;
                    for (; r < rows; r++) panel[r] = src[r];
                    for (; r < MR; r++) panel[r] = 0f;
                }
            }
            else if (rows == MR)
            {
                float* s0 = a + (long)(i0 + ir) * lda + p0;
                float* s1 = s0 + lda, s2 = s1 + lda, s3 = s2 + lda, s4 = s3 + lda, s5 = s4 + lda;
                for (int p = 0; p < kc; p++, panel += MR)
                {
                    panel[0] = s0[p]; panel[1] = s1[p]; panel[2] = s2[p];
                    panel[3] = s3[p]; panel[4] = s4[p]; panel[5] = s5[p];
                }
            }
            else
            {
                for (int p = 0; p < kc; p++, panel += MR)
                {
                    int r = 0;
                    for (; r < rows; r++) panel[r] = a[(long)(i0 + ir + r) * lda + p0 + p];
                    for (; r < MR; r++) panel[r] = 0f;
                }
            }
        }
    }

    /// <summary>Packs op(B)[p0.., j0..] (kc x nc) as NR-column panels, each stored k-major: panel[p * NR + j].</summary>
    static void PackB(bool transB, float* b, int ldb, int p0, int j0, int kc, int nc, float* dst)
    {
        for (int jr = 0; jr < nc; jr += NR)
        {
            int cols = Math.Min(NR, nc - jr);
            float* panel = dst + (long)jr * kc;
            if (!transB && cols == NR)
            {
                // op(B)[p, j] = B[p, j]: a panel row is 16 contiguous floats.
                float* src = b + (long)p0 * ldb + j0 + jr;
                for (int p = 0; p < kc; p++, src += ldb, panel += NR)
                {
                    Vector256.Store(Vector256.Load(src), panel);
                    Vector256.Store(Vector256.Load(src + 8), panel + 8);
                }
            }
            else if (!transB)
            {
                float* src = b + (long)p0 * ldb + j0 + jr;
                for (int p = 0; p < kc; p++, src += ldb, panel += NR)
                {
                    int j = 0;
                    for (; j < cols; j++) panel[j] = src[j];
                    for (; j < NR; j++) panel[j] = 0f;
                }
            }
            else
            {
                // op(B)[p, j] = B[j, p]: read each stored row contiguously, scatter into the panel's column j.
                int j = 0;
                for (; j < cols; j++)
                {
                    float* src = b + (long)(j0 + jr + j) * ldb + p0;
                    for (int p = 0; p < kc; p++) panel[p * NR + j] = src[p];
                }
                for (; j < NR; j++)
                    for (int p = 0; p < kc; p++) panel[p * NR + j] = 0f;
            }
        }
    }

    /// <summary>C[rows, cols] = alpha * (Apanel * Bpanel) + beta * C, with a 6 x 16 tile of 12 ymm accumulators.</summary>
    static void KernelAvx2(int kc, float* a, float* b, float* c, int ldc, float alpha, float beta, int rows, int cols)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++, a += MR, b += NR)
        {
            var b0 = Avx.LoadVector256(b);
            var b1 = Avx.LoadVector256(b + 8);
            var x = Avx.BroadcastScalarToVector256(a);
            c00 = Fma.MultiplyAdd(x, b0, c00); c01 = Fma.MultiplyAdd(x, b1, c01);
            x = Avx.BroadcastScalarToVector256(a + 1);
            c10 = Fma.MultiplyAdd(x, b0, c10); c11 = Fma.MultiplyAdd(x, b1, c11);
            x = Avx.BroadcastScalarToVector256(a + 2);
            c20 = Fma.MultiplyAdd(x, b0, c20); c21 = Fma.MultiplyAdd(x, b1, c21);
            x = Avx.BroadcastScalarToVector256(a + 3);
            c30 = Fma.MultiplyAdd(x, b0, c30); c31 = Fma.MultiplyAdd(x, b1, c31);
            x = Avx.BroadcastScalarToVector256(a + 4);
            c40 = Fma.MultiplyAdd(x, b0, c40); c41 = Fma.MultiplyAdd(x, b1, c41);
            x = Avx.BroadcastScalarToVector256(a + 5);
            c50 = Fma.MultiplyAdd(x, b0, c50); c51 = Fma.MultiplyAdd(x, b1, c51);
        }
        if (rows == MR && cols == NR)
        {
            var va = Vector256.Create(alpha);
            if (beta == 0f)
            {
                // beta = 0 must not read C (it may hold NaN).
                Put(c, va, c00, c01); Put(c + ldc, va, c10, c11); Put(c + 2 * ldc, va, c20, c21);
                Put(c + 3 * ldc, va, c30, c31); Put(c + 4 * ldc, va, c40, c41); Put(c + 5 * ldc, va, c50, c51);
            }
            else
            {
                var vb = Vector256.Create(beta);
                Update(c, va, vb, c00, c01); Update(c + ldc, va, vb, c10, c11); Update(c + 2 * ldc, va, vb, c20, c21);
                Update(c + 3 * ldc, va, vb, c30, c31); Update(c + 4 * ldc, va, vb, c40, c41); Update(c + 5 * ldc, va, vb, c50, c51);
            }
            return;
        }
        float* tile = stackalloc float[MR * NR];
        c00.Store(tile); c01.Store(tile + 8); c10.Store(tile + 16); c11.Store(tile + 24);
        c20.Store(tile + 32); c21.Store(tile + 40); c30.Store(tile + 48); c31.Store(tile + 56);
        c40.Store(tile + 64); c41.Store(tile + 72); c50.Store(tile + 80); c51.Store(tile + 88);
        StoreEdge(tile, c, ldc, alpha, beta, rows, cols);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Put(float* dst, Vector256<float> alpha, Vector256<float> x0, Vector256<float> x1)
    {
        Avx.Store(dst, Avx.Multiply(alpha, x0));
        Avx.Store(dst + 8, Avx.Multiply(alpha, x1));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Update(float* dst, Vector256<float> alpha, Vector256<float> beta, Vector256<float> x0, Vector256<float> x1)
    {
        Avx.Store(dst, Fma.MultiplyAdd(alpha, x0, Avx.Multiply(beta, Avx.LoadVector256(dst))));
        Avx.Store(dst + 8, Fma.MultiplyAdd(alpha, x1, Avx.Multiply(beta, Avx.LoadVector256(dst + 8))));
    }

    static void StoreEdge(float* tile, float* c, int ldc, float alpha, float beta, int rows, int cols)
    {
        for (int r = 0; r < rows; r++)
        {
            float* dst = c + (long)r * ldc;
            float* src = tile + r * NR;
            if (beta == 0f) for (int j = 0; j < cols; j++) dst[j] = alpha * src[j];
            else for (int j = 0; j < cols; j++) dst[j] = alpha * src[j] + beta * dst[j];
        }
    }

    /// <summary>Fallback without AVX2/FMA (or on Arm): the same packed layout, 4-wide vectors, tile kept on the stack.</summary>
    static void KernelPortable(int kc, float* a, float* b, float* c, int ldc, float alpha, float beta, int rows, int cols)
    {
        float* tile = stackalloc float[MR * NR];
        new Span<float>(tile, MR * NR).Clear();
        for (int p = 0; p < kc; p++, a += MR, b += NR)
        {
            var b0 = Vector128.Load(b); var b1 = Vector128.Load(b + 4);
            var b2 = Vector128.Load(b + 8); var b3 = Vector128.Load(b + 12);
            for (int r = 0; r < MR; r++)
            {
                var x = Vector128.Create(a[r]);
                float* t = tile + r * NR;
                (Vector128.Load(t) + x * b0).Store(t);
                (Vector128.Load(t + 4) + x * b1).Store(t + 4);
                (Vector128.Load(t + 8) + x * b2).Store(t + 8);
                (Vector128.Load(t + 12) + x * b3).Store(t + 12);
            }
        }
        StoreEdge(tile, c, ldc, alpha, beta, rows, cols);
    }
}
