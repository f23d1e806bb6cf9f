using System.Diagnostics;

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
}
