using System.Diagnostics;

namespace MMEureka.Torch.Blas;

/// <summary>One measured square product: n x n times n x n on a backend.</summary>
/// <param name="Backend">"openblas" or "managed".</param>
/// <param name="N">Matrix side.</param>
/// <param name="MedianSeconds">Median wall time of one product over the timed samples.</param>
/// <param name="GFlops">2 n^3 / median time, in 10^9 floating-point operations per second.</param>
/// <param name="Samples">Number of timed samples.</param>
/// <param name="CallsPerSample">Products per sample (small sizes run several so a sample lasts long enough to time).</param>
public sealed record GemmTiming(string Backend, int N, double MedianSeconds, double GFlops, int Samples, int CallsPerSample);

/// <summary>GFLOP/s of square SGEMM on a chosen backend: warm-up, then timed samples, median reported.</summary>
public static class GemmBenchmark
{
    /// <summary>
    /// Times C = A * B for each n in <paramref name="sizes"/> on <paramref name="backend"/> ("openblas" or
    /// "managed"). Inputs are seeded uniform(-1, 1) so runs are comparable.
    /// </summary>
    public static IReadOnlyList<GemmTiming> Run(int[] sizes, string backend, int samples = 7, double minSampleSeconds = 0.05, int seed = 1)
    {
        var kind = backend.Trim().ToLowerInvariant() switch
        {
            "openblas" => GemmBackend.OpenBlas,
            "managed" => GemmBackend.Managed,
            _ => throw new ArgumentException($"unknown GEMM backend '{backend}' (expected 'openblas' or 'managed')", nameof(backend)),
        };
        if (samples < 1) throw new ArgumentOutOfRangeException(nameof(samples), "need at least one timed sample");
        var results = new List<GemmTiming>();
        var rng = new Random(seed);
        foreach (int n in sizes)
        {
            if (n < 1) throw new ArgumentOutOfRangeException(nameof(sizes), $"matrix size {n} must be positive");
            var a = Fill(rng, n * n);
            var b = Fill(rng, n * n);
            var c = new float[n * n];
            void Call() => Gemm.SgemmWith(kind, false, false, n, n, n, 1f, a, 0, n, b, 0, n, 0f, c, 0, n);

            // Warm-up (JIT, thread pools, packing buffers), then size a sample to last at least minSampleSeconds.
            var sw = Stopwatch.StartNew();
            int warm = 0;
            do { Call(); warm++; } while (warm < 2 || sw.Elapsed.TotalSeconds < minSampleSeconds);
            sw.Restart();
            Call();
            double perCall = sw.Elapsed.TotalSeconds;
            int calls = Math.Max(1, (int)Math.Ceiling(minSampleSeconds / perCall));

            var times = new double[samples];
            for (int s = 0; s < samples; s++)
            {
                sw.Restart();
                for (int i = 0; i < calls; i++) Call();
                times[s] = sw.Elapsed.TotalSeconds / calls;
            }
            Array.Sort(times);
            double median = samples % 2 == 1 ? times[samples / 2] : 0.5 * (times[samples / 2 - 1] + times[samples / 2]);
            results.Add(new GemmTiming(Gemm.Name(kind), n, median, 2.0 * n * n * n / median / 1e9, samples, calls));
        }
        return results;
    }

    static float[] Fill(Random rng, int count)
    {
        var x = new float[count];
        for (int i = 0; i < count; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }
}
