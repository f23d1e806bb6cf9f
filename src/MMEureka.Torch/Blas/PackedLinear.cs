using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MMEureka.Torch;

/// <summary>
/// The linear layers' product for inference (<see cref="torch.inference_mode"/>): y = x W^T + b against a weight
/// packed once into 16-column panels, k-major (panel p holds W[16p .. 16p + 15, k] at [k * 16 + c]), instead of
/// packing W again at every call as a BLAS does. Decoding's products are skinny (a 32-row shard times W), so that
/// packing was as much work as the product: measured on one Zen core, 32 x 128 x 384 took 126 us in OpenBLAS and
/// 52 us here, 1,696 x 128 x 384 (a prefill shard) 3.6 ms and 2.3 ms.
/// <para>Every output element is one chain of fused multiply-adds over k = 0 .. K-1 in order, started from zero,
/// then its bias added: the same bits whatever the number of rows, the row's place among them or the split over
/// cores (tail rows and columns run the same chain). So a batch of rows computes exactly what each row computes
/// alone, which BLAS kernels do not promise (OpenBLAS's edge rows differ in the last bit).</para>
/// </summary>
internal static unsafe class PackedLinear
{
    /// <summary>Rows and columns of the register tile (12 ymm accumulators).</summary>
    public const int MR = 6, NR = 16;

    /// <summary>Whether the vector kernel runs; otherwise a scalar loop computes the same chains.</summary>
    public static bool Vectorised => Avx2.IsSupported && Fma.IsSupported;

    /// <summary>Packs W [n, k] (PyTorch's [out, in], row-major from <paramref name="offset"/>) into ceil(n / 16)
    /// panels of k x 16, columns past n zero.</summary>
    public static float[] Pack(float[] w, int offset, int n, int k)
    {
        int panels = (n + NR - 1) / NR;
        var packed = new float[panels * k * NR];
        for (int j = 0; j < n; j++)
        {
            int p = j / NR, c = j % NR;
            for (int kk = 0; kk < k; kk++) packed[(p * k + kk) * NR + c] = w[offset + j * k + kk];
        }
        return packed;
    }

    /// <summary>y[m, n] (row-major from <paramref name="yOffset"/>) = x[m, k] (rows <paramref name="ldx"/> apart) W^T + bias, W packed by
    /// <see cref="Pack"/>. Rows are split over the cores when the product is large and the caller is not already one
    /// of several shards (the split changes no bit).</summary>
    public static void Forward(float[] x, int xOffset, int ldx, int m, int k, float[] packed, int n, float[]? bias, int biasOffset,
        float[] y, int yOffset)
    {
        if (m == 0 || n == 0) return;
        if (ldx < k || x.Length - xOffset < (long)(m - 1) * ldx + k || y.Length - yOffset < (long)m * n || packed.Length < (n + NR - 1) / NR * k * NR
            || (bias != null && bias.Length - biasOffset < n))
            throw new ArgumentException($"packed linear: operands too short for [{m}, {k}] x [{k}, {n}]");
        // The bias padded to whole panels, so that the tile adds it with two vector loads.
        int padded = (n + NR - 1) / NR * NR;
        var b = new float[padded];
        if (bias != null) Array.Copy(bias, biasOffset, b, 0, n);
        int tiles = (m + MR - 1) / MR;
        int parts = Threads.Serial || (long)m * n * k < Gemm.SplitThreshold ? 1 : Math.Min(Environment.ProcessorCount, tiles);
        if (parts == 1)
        {
            Rows(x, xOffset, ldx, 0, m, k, packed, n, b, y, yOffset);
            return;
        }
        Parallel.For(0, parts, part =>
        {
            int r0 = (int)((long)tiles * part / parts) * MR, r1 = Math.Min(m, (int)((long)tiles * (part + 1) / parts) * MR);
            Rows(x, xOffset, ldx, r0, r1, k, packed, n, b, y, yOffset);
        });
    }

    private static void Rows(float[] x, int xOffset, int ldx, int r0, int r1, int k, float[] packed, int n, float[] bias, float[] y, int yOffset)
    {
        int panels = (n + NR - 1) / NR;
        if (!Vectorised)
        {
            for (int i = r0; i < r1; i++)
                for (int j = 0; j < n; j++)
                {
                    int p = j / NR, c = j % NR;
                    float acc = 0f;
                    for (int kk = 0; kk < k; kk++) acc = MathF.FusedMultiplyAdd(x[xOffset + i * ldx + kk], packed[(p * k + kk) * NR + c], acc);
                    y[yOffset + i * n + j] = acc + bias[j];
                }
            return;
        }
        float* scratch = stackalloc float[MR * NR];
        fixed (float* px = x, pw = packed, pb = bias, py = y)
        {
            int i0 = r0;
            for (; i0 + MR <= r1; i0 += MR)
            {
                float* a = px + xOffset + (long)i0 * ldx;
                for (int p = 0; p < panels; p++)
                {
                    int cols = Math.Min(NR, n - p * NR);
                    float* c = py + yOffset + (long)i0 * n + p * NR;
                    if (cols == NR)
                    {
                        Tile(k, a, ldx, pw + (long)p * k * NR, pb + p * NR, c, n);
                        continue;
                    }
                    Tile(k, a, ldx, pw + (long)p * k * NR, pb + p * NR, scratch, NR);
                    for (int r = 0; r < MR; r++)
                        new ReadOnlySpan<float>(scratch + r * NR, cols).CopyTo(new Span<float>(c + (long)r * n, cols));
                }
            }
            // The last rows (fewer than a tile: a decoding shard of 32 rows has 2) one at a time, not padded to a
            // tile: at 7 rows a padded tile did 12 rows' work.
            for (; i0 < r1; i0++)
            {
                float* a = px + xOffset + (long)i0 * ldx;
                float* c = py + yOffset + (long)i0 * n;
                int p = 0;
                for (; p + 4 <= panels && (p + 4) * NR <= n; p += 4)
                    Row4(k, a, pw + (long)p * k * NR, k * NR, pb + p * NR, c + p * NR);
                for (; p < panels; p++)
                {
                    int cols = Math.Min(NR, n - p * NR);
                    Row4(k, a, pw + (long)p * k * NR, 0, pb + p * NR, scratch); // one panel (read four times over)
                    new ReadOnlySpan<float>(scratch, cols).CopyTo(new Span<float>(c + p * NR, cols));
                }
            }
        }
    }

    /// <summary>A 6 x 16 tile: rows a, a + ldx, ..., a + 5 ldx of x times one packed panel, plus the bias, stored at
    /// c. No calls inside: an accumulator live across a call is spilled to the stack at every iteration (all vector
    /// registers are caller-saved on System V), which measured half the speed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile(int k, float* a, nint ldx, float* b, float* bias, float* c, int ldc)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        nint d2 = 2 * ldx, d3 = 3 * ldx, d4 = 4 * ldx, d5 = 5 * ldx;
        float* end = a + k;
        while (a < end)
        {
            var b0 = Avx.LoadVector256(b);
            var b1 = Avx.LoadVector256(b + 8);
            var x = Avx.BroadcastScalarToVector256(a);
            c00 = Fma.MultiplyAdd(x, b0, c00); c01 = Fma.MultiplyAdd(x, b1, c01);
            x = Avx.BroadcastScalarToVector256(a + ldx);
            c10 = Fma.MultiplyAdd(x, b0, c10); c11 = Fma.MultiplyAdd(x, b1, c11);
            x = Avx.BroadcastScalarToVector256(a + d2);
            c20 = Fma.MultiplyAdd(x, b0, c20); c21 = Fma.MultiplyAdd(x, b1, c21);
            x = Avx.BroadcastScalarToVector256(a + d3);
            c30 = Fma.MultiplyAdd(x, b0, c30); c31 = Fma.MultiplyAdd(x, b1, c31);
            x = Avx.BroadcastScalarToVector256(a + d4);
            c40 = Fma.MultiplyAdd(x, b0, c40); c41 = Fma.MultiplyAdd(x, b1, c41);
            x = Avx.BroadcastScalarToVector256(a + d5);
            c50 = Fma.MultiplyAdd(x, b0, c50); c51 = Fma.MultiplyAdd(x, b1, c51);
            a++;
            b += NR;
        }
        var v0 = Avx.LoadVector256(bias);
        var v1 = Avx.LoadVector256(bias + 8);
        Avx.Store(c, Avx.Add(c00, v0)); Avx.Store(c + 8, Avx.Add(c01, v1)); c += ldc;
        Avx.Store(c, Avx.Add(c10, v0)); Avx.Store(c + 8, Avx.Add(c11, v1)); c += ldc;
        Avx.Store(c, Avx.Add(c20, v0)); Avx.Store(c + 8, Avx.Add(c21, v1)); c += ldc;
        Avx.Store(c, Avx.Add(c30, v0)); Avx.Store(c + 8, Avx.Add(c31, v1)); c += ldc;
        Avx.Store(c, Avx.Add(c40, v0)); Avx.Store(c + 8, Avx.Add(c41, v1)); c += ldc;
        Avx.Store(c, Avx.Add(c50, v0)); Avx.Store(c + 8, Avx.Add(c51, v1));
    }

    /// <summary>One row of x times four packed panels (<paramref name="panelStride"/> floats apart, consecutive in
    /// the output), plus the bias, at c: the same one chain per element as <see cref="Tile"/>. Four panels give
    /// eight independent chains, enough to keep the FMA units busy (one panel's two waited on their latency).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Row4(int k, float* a, float* b, nint panelStride, float* bias, float* c)
    {
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        float* b1 = b + panelStride, b2 = b + 2 * panelStride, b3 = b + 3 * panelStride;
        float* end = a + k;
        while (a < end)
        {
            var x = Avx.BroadcastScalarToVector256(a);
            c0 = Fma.MultiplyAdd(x, Avx.LoadVector256(b), c0);
            c1 = Fma.MultiplyAdd(x, Avx.LoadVector256(b + 8), c1);
            c2 = Fma.MultiplyAdd(x, Avx.LoadVector256(b1), c2);
            c3 = Fma.MultiplyAdd(x, Avx.LoadVector256(b1 + 8), c3);
            c4 = Fma.MultiplyAdd(x, Avx.LoadVector256(b2), c4);
            c5 = Fma.MultiplyAdd(x, Avx.LoadVector256(b2 + 8), c5);
            c6 = Fma.MultiplyAdd(x, Avx.LoadVector256(b3), c6);
            c7 = Fma.MultiplyAdd(x, Avx.LoadVector256(b3 + 8), c7);
            a++;
            b += NR; b1 += NR; b2 += NR; b3 += NR;
        }
        // With panelStride 0 all four are the first panel: only c0, c1 are stored, and c is a 16-float scratch.
        Avx.Store(c, Avx.Add(c0, Avx.LoadVector256(bias)));
        Avx.Store(c + 8, Avx.Add(c1, Avx.LoadVector256(bias + 8)));
        if (panelStride == 0) return;
        Avx.Store(c + 16, Avx.Add(c2, Avx.LoadVector256(bias + 16)));
        Avx.Store(c + 24, Avx.Add(c3, Avx.LoadVector256(bias + 24)));
        Avx.Store(c + 32, Avx.Add(c4, Avx.LoadVector256(bias + 32)));
        Avx.Store(c + 40, Avx.Add(c5, Avx.LoadVector256(bias + 40)));
        Avx.Store(c + 48, Avx.Add(c6, Avx.LoadVector256(bias + 48)));
        Avx.Store(c + 56, Avx.Add(c7, Avx.LoadVector256(bias + 56)));
    }
}
