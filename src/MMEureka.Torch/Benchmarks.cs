using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MMEureka.Torch;

/// <summary>
/// Timing helpers shared by <c>mmeureka bench engine</c> and the notebooks (the same method as
/// bench/torch_reference.py, so numbers compare side by side).
/// </summary>
public static class Benchmarks
{
    /// <summary>Median wall time in seconds of up to <paramref name="repeats"/> calls of <paramref name="fn"/> after
    /// untimed warm-up calls (at least <paramref name="warmup"/> of them, and for at least
    /// <paramref name="warmupSeconds"/>); stops early once three samples are in and <paramref name="budgetSeconds"/>
    /// have passed.</summary>
    public static double MedianSeconds(Action fn, int warmup, int repeats, double budgetSeconds = double.PositiveInfinity,
        double warmupSeconds = 0)
    {
        if (repeats < 1) throw new ArgumentOutOfRangeException(nameof(repeats), "need at least one timed call");
        var warming = Stopwatch.StartNew();
        for (int i = 0; i < warmup || warming.Elapsed.TotalSeconds < warmupSeconds; i++) fn();
        var times = new List<double>();
        var total = Stopwatch.StartNew();
        for (int i = 0; i < repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            fn();
            times.Add(sw.Elapsed.TotalSeconds);
            if (times.Count >= 3 && total.Elapsed.TotalSeconds > budgetSeconds) break;
        }
        return Median(times);
    }

    /// <summary>The median of <paramref name="values"/> (mean of the middle two for an even count).</summary>
    public static double Median(IReadOnlyCollection<double> values)
    {
        if (values.Count == 0) throw new ArgumentException("median of no values");
        var sorted = values.Order().ToArray();
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    }

    /// <summary>Peak resident set of this process so far in MB: VmHWM from /proc/self/status on Linux (the kernel's
    /// high-water mark, like ru_maxrss), else <see cref="Process.PeakWorkingSet64"/>.</summary>
    public static double PeakWorkingSetMb()
    {
        const string status = "/proc/self/status";
        if (File.Exists(status))
            foreach (var line in File.ReadLines(status))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    var kb = line["VmHWM:".Length..].Trim().Split(' ')[0];
                    return long.Parse(kb, System.Globalization.CultureInfo.InvariantCulture) / 1024.0;
                }
        using var p = Process.GetCurrentProcess();
        return p.PeakWorkingSet64 / (1024.0 * 1024.0);
    }

    /// <summary>GFLOP/s of square products for every size on every available backend (OpenBLAS only when it loads),
    /// for charts such as notebook 00's backend comparison.</summary>
    public static IReadOnlyList<Blas.GemmTiming> GemmBackends(int[] sizes, int samples = 7)
    {
        var results = new List<Blas.GemmTiming>();
        if (Blas.OpenBlas.IsAvailable) results.AddRange(Blas.GemmBenchmark.Run(sizes, "openblas", samples));
        results.AddRange(Blas.GemmBenchmark.Run(sizes, "managed", samples));
        return results;
    }

    /// <summary>The machine's float32 multiply-add ceiling in GFLOP/s on <paramref name="threads"/> threads at once:
    /// each thread runs twelve independent FMA chains from registers (no memory traffic, enough chains to cover the
    /// FMA latency on two pipes) for about <paramref name="seconds"/>, 256 bits wide and, where .NET runs Vector512
    /// natively, 512 bits wide too, the faster counting; the median of three such runs. What no GEMM can beat on this
    /// CPU. 0 without AVX2 and FMA.</summary>
    public static double FmaPeakGflops(int threads, double seconds = 0.2)
    {
        if (!Vector256.IsHardwareAccelerated || !System.Runtime.Intrinsics.X86.Fma.IsSupported) return 0;
        double peak = FmaRate(threads, seconds, FmaChains256, 8);
        if (Vector512.IsHardwareAccelerated) peak = Math.Max(peak, FmaRate(threads, seconds, FmaChains512, 16));
        return peak;
    }

    /// <summary>Median GFLOP/s of three runs of <paramref name="chains"/> on all threads at once: the threads are started
    /// and wait at a barrier, so the clock covers the arithmetic and not their start.</summary>
    static double FmaRate(int threads, double seconds, Func<long, float> chains, int lanes)
    {
        const long chunk = 1 << 19; // iterations between clock checks: about a millisecond
        var runs = new double[3];
        for (int r = 0; r < runs.Length; r++)
        {
            long total = 0;
            var sw = new Stopwatch();
            using var start = new Barrier(threads + 1);
            var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
            {
                long done = 0;
                float sink = 0;
                start.SignalAndWait();
                do { sink += chains(chunk); done += chunk; } while (sw.Elapsed.TotalSeconds < seconds);
                if (sink == 42f) Console.Write(""); // keeps the chains' result alive
                Interlocked.Add(ref total, done);
            })).ToList();
            workers.ForEach(w => w.Start());
            sw.Start();
            start.SignalAndWait();
            workers.ForEach(w => w.Join());
            runs[r] = total * 12.0 * lanes * 2 / sw.Elapsed.TotalSeconds / 1e9; // 12 FMAs per iteration, 2 flops per lane
        }
        return Median(runs);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static float FmaChains256(long iterations)
    {
        var m = Vector256.Create(0.999f);
        var add = Vector256.Create(1e-4f);
        Vector256<float> a0 = Vector256<float>.One, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0,
            a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < iterations; i++)
        {
            a0 = Vector256.FusedMultiplyAdd(a0, m, add); a1 = Vector256.FusedMultiplyAdd(a1, m, add);
            a2 = Vector256.FusedMultiplyAdd(a2, m, add); a3 = Vector256.FusedMultiplyAdd(a3, m, add);
            a4 = Vector256.FusedMultiplyAdd(a4, m, add); a5 = Vector256.FusedMultiplyAdd(a5, m, add);
            a6 = Vector256.FusedMultiplyAdd(a6, m, add); a7 = Vector256.FusedMultiplyAdd(a7, m, add);
            a8 = Vector256.FusedMultiplyAdd(a8, m, add); a9 = Vector256.FusedMultiplyAdd(a9, m, add);
            a10 = Vector256.FusedMultiplyAdd(a10, m, add); a11 = Vector256.FusedMultiplyAdd(a11, m, add);
        }
        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static float FmaChains512(long iterations)
    {
        var m = Vector512.Create(0.999f);
        var add = Vector512.Create(1e-4f);
        Vector512<float> a0 = Vector512<float>.One, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0,
            a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < iterations; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, m, add); a1 = Vector512.FusedMultiplyAdd(a1, m, add);
            a2 = Vector512.FusedMultiplyAdd(a2, m, add); a3 = Vector512.FusedMultiplyAdd(a3, m, add);
            a4 = Vector512.FusedMultiplyAdd(a4, m, add); a5 = Vector512.FusedMultiplyAdd(a5, m, add);
            a6 = Vector512.FusedMultiplyAdd(a6, m, add); a7 = Vector512.FusedMultiplyAdd(a7, m, add);
            a8 = Vector512.FusedMultiplyAdd(a8, m, add); a9 = Vector512.FusedMultiplyAdd(a9, m, add);
            a10 = Vector512.FusedMultiplyAdd(a10, m, add); a11 = Vector512.FusedMultiplyAdd(a11, m, add);
        }
        return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }
}
