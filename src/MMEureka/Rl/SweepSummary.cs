using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MMEureka.Runs;

namespace MMEureka.Rl;

/// <summary>
/// One run of a sweep, read back from its folder. Accuracies are greedy, on the run's test (and OOD) problems;
/// step 0 is the SFT policy. <see cref="Overall"/> is CPGD's Table-1 score: the mean over benchmarks (here test and
/// OOD) of the final score divided by the SFT score.
/// </summary>
public sealed record SweepRunSummary(
    string Algo, long Seed, string Status, int Steps, double SftAccuracy, double BestAccuracy, int BestStep, double FinalAccuracy,
    double? SftOodAccuracy, double? FinalOodAccuracy, double RatioMax, double StartLength, double FinalLength,
    bool Collapsed, string? CollapseReason, double? Overall);

/// <summary>
/// The sweep's table: per run the best and final greedy test accuracy, the final OOD accuracy, the largest ratio
/// seen, the response length, whether it collapsed and CPGD's "overall"; per algorithm the means over seeds.
/// A run collapsed when its final accuracy is <see cref="CollapseDrop"/> (10 points) or more below its own best
/// (step 0 included), when its final response length is below a third of the first step's, or when it stopped on a
/// non-finite loss.
/// </summary>
public sealed class SweepSummary
{
    /// <summary>Accuracy drop from the run's best that counts as a collapse (10 points).</summary>
    public const double CollapseDrop = 0.10;
    /// <summary>Final length below this share of the first step's counts as a collapse.</summary>
    public const double CollapseLengthShare = 1.0 / 3;

    /// <summary>One row per run with results, in sweep order.</summary>
    public IReadOnlyList<SweepRunSummary> Runs { get; }

    private SweepSummary(IReadOnlyList<SweepRunSummary> runs) => Runs = runs;

    /// <summary>Reads the run folders that hold a config.json and at least one evaluation; others are left out.</summary>
    public static SweepSummary Read(IEnumerable<string> runDirs) =>
        new(runDirs.Select(ReadRun).Where(r => r != null).Select(r => r!).ToList());

    /// <summary>A run folder's row (null when it has no evaluation yet); errors name the file.</summary>
    public static SweepRunSummary? ReadRun(string dir)
    {
        string configPath = Path.Combine(dir, "config.json"), metricsPath = Path.Combine(dir, "metrics.jsonl");
        if (!File.Exists(configPath) || !File.Exists(metricsPath)) return null;
        JsonObject config;
        try { config = JsonNode.Parse(File.ReadAllText(configPath)) as JsonObject ?? throw new FormatException("not a JSON object"); }
        catch (Exception e) when (e is JsonException or FormatException) { throw new FormatException($"{configPath}: {e.Message}", e); }
        string algo = config["algo"]?.GetValue<string>() ?? throw new FormatException($"{configPath}: field algo is missing");
        long seed = config["seed"]?.GetValue<long>() ?? throw new FormatException($"{configPath}: field seed is missing");
        var rows = RunFolder.ReadMetrics(metricsPath);
        var (evalSteps, acc) = RunFolder.Series(rows, "eval_accuracy");
        if (acc.Length == 0) return null;
        var (_, ood) = RunFolder.Series(rows, "eval_ood_accuracy");
        var (_, ratio) = RunFolder.Series(rows, "ratio_max");
        var (lengthSteps, length) = RunFolder.Series(rows, "completion_length");
        string statusPath = Path.Combine(dir, Sweep.StatusFile);
        string status = "running";
        if (File.Exists(statusPath))
            status = (JsonNode.Parse(File.ReadAllText(statusPath)) as JsonObject)?["status"]?.GetValue<string>()
                ?? throw new FormatException($"{statusPath}: field status is missing");
        int steps = lengthSteps.Length > 0 ? (int)lengthSteps[^1] : 0;
        return Summarize(algo, seed, status, steps, evalSteps, acc, ood, ratio, length);
    }

    /// <summary>
    /// The row from the series: <paramref name="evalSteps"/>/<paramref name="accuracy"/> the evaluations (step 0 =
    /// SFT), <paramref name="ood"/> the OOD ones (same steps, or empty), <paramref name="ratioMax"/> and
    /// <paramref name="length"/> one value per training step.
    /// </summary>
    public static SweepRunSummary Summarize(string algo, long seed, string status, int steps, double[] evalSteps, double[] accuracy,
        double[] ood, double[] ratioMax, double[] length)
    {
        if (accuracy.Length == 0) throw new ArgumentException("a run needs at least one evaluation");
        int best = Array.IndexOf(accuracy, accuracy.Max());
        double final = accuracy[^1];
        double start = length.Length > 0 ? length[0] : double.NaN, end = length.Length > 0 ? length[^1] : double.NaN;
        var reasons = new List<string>();
        if (status == "stopped") reasons.Add("stopped on a non-finite loss");
        if (accuracy[best] - final >= CollapseDrop - 1e-9) // accuracies are k / n: allow for rounding
            reasons.Add(string.Create(CultureInfo.InvariantCulture,
                $"accuracy {final * 100:F1}% is {(accuracy[best] - final) * 100:F1} points below its best {accuracy[best] * 100:F1}% (step {evalSteps[best]})"));
        if (length.Length > 0 && end < start * CollapseLengthShare)
            reasons.Add(string.Create(CultureInfo.InvariantCulture, $"response length {end:F1} fell below a third of the start's {start:F1}"));
        double? sftOod = ood.Length > 0 ? ood[0] : null, finalOod = ood.Length > 0 ? ood[^1] : null;
        var ratios = new List<double>();
        if (accuracy[0] > 0) ratios.Add(final / accuracy[0]);
        if (sftOod is > 0) ratios.Add(finalOod!.Value / sftOod.Value);
        return new SweepRunSummary(algo, seed, status, steps, accuracy[0], accuracy[best], (int)evalSteps[best], final, sftOod, finalOod,
            ratioMax.Length > 0 ? ratioMax.Max() : double.NaN, start, end, reasons.Count > 0,
            reasons.Count > 0 ? string.Join("; ", reasons) : null, ratios.Count > 0 ? ratios.Average() : null);
    }

    /// <summary>Per algorithm (in first-seen order): runs, collapsed runs, and the means over seeds.</summary>
    public IReadOnlyList<(string algo, int runs, int collapsed, double bestAccuracy, double finalAccuracy, double? finalOod, double ratioMax, double finalLength, double? overall)> ByAlgo() =>
        Runs.GroupBy(r => r.Algo).Select(g => (g.Key, g.Count(), g.Count(r => r.Collapsed), g.Average(r => r.BestAccuracy),
            g.Average(r => r.FinalAccuracy), Mean(g.Select(r => r.FinalOodAccuracy)), g.Max(r => r.RatioMax), g.Average(r => r.FinalLength),
            Mean(g.Select(r => r.Overall)))).ToList();

    private static double? Mean(IEnumerable<double?> xs)
    {
        var v = xs.Where(x => x.HasValue).Select(x => x!.Value).ToList();
        return v.Count > 0 ? v.Average() : null;
    }

    /// <summary>summary.json (runs and per-algorithm means) and summary.csv (one row per run, then one "mean" row
    /// per algorithm) in <paramref name="dir"/>, each written atomically.</summary>
    public void Write(string dir)
    {
        Directory.CreateDirectory(dir);
        RunFolder.WriteAtomically(Path.Combine(dir, "summary.json"), ToJson().ToJsonString(new() { WriteIndented = true }) + "\n");
        RunFolder.WriteAtomically(Path.Combine(dir, "summary.csv"), ToCsv());
    }

    /// <summary>The table as JSON: <c>runs</c> (one object per run) and <c>algos</c> (means over seeds).</summary>
    public JsonObject ToJson() => new()
    {
        ["collapse_rule"] = $"final accuracy >= {CollapseDrop * 100:F0} points below the run's best, final length < 1/3 of the first step's, or stopped",
        ["runs"] = new JsonArray(Runs.Select(r => (JsonNode?)new JsonObject
        {
            ["algo"] = r.Algo, ["seed"] = r.Seed, ["status"] = r.Status, ["steps"] = r.Steps, ["sft_accuracy"] = r.SftAccuracy,
            ["best_accuracy"] = r.BestAccuracy, ["best_step"] = r.BestStep, ["final_accuracy"] = r.FinalAccuracy,
            ["sft_ood_accuracy"] = r.SftOodAccuracy, ["final_ood_accuracy"] = r.FinalOodAccuracy, ["ratio_max"] = Finite(r.RatioMax),
            ["start_length"] = Finite(r.StartLength), ["final_length"] = Finite(r.FinalLength), ["collapsed"] = r.Collapsed,
            ["collapse_reason"] = r.CollapseReason, ["overall"] = r.Overall,
        }).ToArray()),
        ["algos"] = new JsonArray(ByAlgo().Select(a => (JsonNode?)new JsonObject
        {
            ["algo"] = a.algo, ["runs"] = a.runs, ["collapsed"] = a.collapsed, ["best_accuracy"] = a.bestAccuracy,
            ["final_accuracy"] = a.finalAccuracy, ["final_ood_accuracy"] = a.finalOod, ["ratio_max"] = Finite(a.ratioMax),
            ["final_length"] = Finite(a.finalLength), ["overall"] = a.overall,
        }).ToArray()),
    };

    private static double? Finite(double x) => double.IsFinite(x) ? x : null;

    /// <summary>The table as CSV (invariant culture; empty cells for missing values).</summary>
    public string ToCsv()
    {
        var sb = new StringBuilder("algo,seed,status,steps,sft_accuracy,best_accuracy,best_step,final_accuracy,final_ood_accuracy,ratio_max,start_length,final_length,collapsed,overall\n");
        static string N(double? x) => x is { } v && double.IsFinite(v) ? v.ToString("0.####", CultureInfo.InvariantCulture) : "";
        foreach (var r in Runs)
            sb.AppendLine(string.Join(",", r.Algo, r.Seed.ToString(CultureInfo.InvariantCulture), r.Status, r.Steps.ToString(CultureInfo.InvariantCulture),
                N(r.SftAccuracy), N(r.BestAccuracy), r.BestStep.ToString(CultureInfo.InvariantCulture), N(r.FinalAccuracy), N(r.FinalOodAccuracy),
                N(r.RatioMax), N(r.StartLength), N(r.FinalLength), r.Collapsed ? "true" : "false", N(r.Overall)));
        foreach (var a in ByAlgo())
            sb.AppendLine(string.Join(",", a.algo, "mean", $"{a.collapsed}/{a.runs} collapsed", "", "", N(a.bestAccuracy), "", N(a.finalAccuracy),
                N(a.finalOod), N(a.ratioMax), "", N(a.finalLength), "", N(a.overall)));
        return sb.ToString().Replace("\r\n", "\n");
    }
}
