using System.Diagnostics;

namespace MMEureka.Torch;

/// <summary>
/// Op-level wall-time profile, off unless the environment variable <c>MMEUREKA_PROFILE=1</c> is set (or
/// <see cref="Enabled"/> is switched on). Forward time is the time since the previous recorded op ended, charged to
/// the op that just recorded itself (so glue between ops counts against the next op); backward time is measured
/// around each node's gradient function; the optimiser step is one entry. The forward clock is per thread and
/// shards of <see cref="torch.parallel_shards"/> start it afresh, so with shards the totals add up the shards'
/// times (CPU time rather than wall time).
/// </summary>
public static class Profiler
{
    private static readonly Dictionary<string, (double seconds, long calls)> _totals = [];
    private static readonly object _lock = new();
    [ThreadStatic] private static long _mark;

    /// <summary>Whether ops are timed.</summary>
    public static bool Enabled { get; set; } = Environment.GetEnvironmentVariable("MMEUREKA_PROFILE") == "1";

    /// <summary>Clears the totals and restarts the forward clock.</summary>
    public static void Reset()
    {
        lock (_lock) _totals.Clear();
        Mark();
    }

    /// <summary>Restarts the forward clock (call before a forward pass so the gap before it is not charged).</summary>
    public static void Mark() => _mark = Stopwatch.GetTimestamp();

    /// <summary>"LinearBackward" -> "Linear": nodes are named after their backward, entries after the op.</summary>
    internal static string OpName(string node) => node.EndsWith("Backward", StringComparison.Ordinal) ? node[..^"Backward".Length] : node;

    /// <summary>Charges the time since the last mark to <paramref name="name"/> and restarts the clock.</summary>
    internal static void Charge(string name)
    {
        long now = Stopwatch.GetTimestamp();
        if (_mark != 0) Add(name, Stopwatch.GetElapsedTime(_mark, now).TotalSeconds);
        _mark = now;
    }

    /// <summary>Adds <paramref name="seconds"/> to <paramref name="name"/>.</summary>
    internal static void Add(string name, double seconds)
    {
        lock (_lock)
        {
            var (s, c) = _totals.GetValueOrDefault(name);
            _totals[name] = (s + seconds, c + 1);
        }
    }

    /// <summary>Totals by entry, largest first: (name, seconds, calls).</summary>
    public static IReadOnlyList<(string name, double seconds, long calls)> Totals()
    {
        lock (_lock) return _totals.Select(kv => (kv.Key, kv.Value.seconds, kv.Value.calls)).OrderByDescending(t => t.Item2).ToList();
    }

    /// <summary>A text table of <see cref="Totals"/> with each entry's share of the sum.</summary>
    public static string Report()
    {
        var totals = Totals();
        double sum = totals.Sum(t => t.seconds);
        var sb = new System.Text.StringBuilder();
        sb.AppendLine($"{"op",-44}{"ms",10}{"calls",8}{"share",8}");
        foreach (var (name, s, c) in totals)
            sb.AppendLine($"{name,-44}{s * 1e3,10:F1}{c,8}{(sum > 0 ? s / sum : 0),8:P1}");
        sb.AppendLine($"{"total",-44}{sum * 1e3,10:F1}");
        return sb.ToString();
    }
}
