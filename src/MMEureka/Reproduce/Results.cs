using System.Globalization;
using System.Text.Json.Nodes;
using MMEureka.Rl;
using MMEureka.Runs;

namespace MMEureka.Reproduce;

/// <summary>How far a paper's phenomenon showed up at toy scale.</summary>
public enum Verdict { Yes, Partly, No, NotRun }

/// <summary>
/// One row of the results page: a paper's claim with its own number, ours from the run folders, the verdict and the
/// reason for it, and the notebook that explains it.
/// </summary>
public sealed record ResultRow(string Paper, string Claim, string PaperNumber, string Ours, Verdict Verdict, string Why, string Notebook);

/// <summary>
/// The results table of <c>mmeureka reproduce</c> (and notebook 08), computed from the run folders the pipeline
/// writes under <c>runs/</c>. Every verdict is a fixed rule on measured numbers, stated in its row's reason; a row
/// whose runs are missing says so (<see cref="Verdict.NotRun"/>) instead of guessing.
/// </summary>
public static class Results
{
    /// <summary>Points (of accuracy, in %) a difference must reach to count as a clear win; smaller ones are "partly".</summary>
    public const double ClearPoints = 2.0;

    /// <summary>The rows for the run folders of <paramref name="preset"/> under <paramref name="runs"/>.</summary>
    public static IReadOnlyList<ResultRow> Collect(string runs, string preset)
    {
        string Dir(string name) => Path.Combine(runs, name);
        var rows = new List<ResultRow>();
        rows.AddRange(MmEureka(Dir($"sft-{preset}"), Dir($"rl-grpo-{preset}"), Dir($"rl-mm_eureka-{preset}"),
            Dir($"rl-mm_eureka-nofilter-{preset}"), Dir($"rl-mm_eureka-kl0.01-{preset}")));
        rows.AddRange(Cpgd(Dir($"rl-grpo-{preset}"), Dir($"rl-cpgd-{preset}"), Dir("sweep-" + SweepPreset(preset))));
        rows.AddRange(MmPrm(runs, preset));
        return rows;
    }

    /// <summary>The preset of the stability sweep that goes with a pipeline preset (tiny stays tiny; else stress).</summary>
    public static string SweepPreset(string preset) => preset == "tiny" ? "tiny" : "stress";

    /// <summary>The learning rates of the PRM sweep (notebook 06): the preset's own and three others.</summary>
    public static IReadOnlyList<double> PrmRates { get; } = [5e-5, 1.5e-4, 5e-4, 1.5e-3];

    /// <summary>Run folder name of one PRM learning rate other than the preset's (notebook 06's naming).</summary>
    public static string PrmRateFolder(string preset, double lr) => $"prm-{preset}-lr{lr.ToString("0.##e0", CultureInfo.InvariantCulture)}";

    private static IEnumerable<ResultRow> MmEureka(string sft, string grpo, string mmEureka, string noFilter, string kl)
    {
        const string nb = "03-mm-eureka-rl";
        double? sftAcc = EvalAccuracy(sft, "eval-test.json");
        double? grpoAcc = EvalAccuracy(grpo, "eval-test.json"), mmAcc = EvalAccuracy(mmEureka, "eval-test.json");
        if (sftAcc is { } s0 && (grpoAcc ?? mmAcc) is not null)
        {
            double best = Math.Max(grpoAcc ?? double.MinValue, mmAcc ?? double.MinValue);
            double gain = Points(best - s0);
            yield return new ResultRow("MM-Eureka", "Rule-based RL beats SFT on the same data",
                "MMK12 64.5 (RL) vs 57.7 (SFT), +6.8", $"greedy test {Pct(s0)} (SFT) -> {Opt(grpoAcc)} (GRPO), {Opt(mmAcc)} (MM-Eureka recipe)",
                Better(gain), $"best RL run {Signed(gain)} points over SFT (yes: >= +{ClearPoints}; partly: > 0)", nb);
        }
        else yield return Missing("MM-Eureka", "Rule-based RL beats SFT on the same data", "MMK12 64.5 (RL) vs 57.7 (SFT), +6.8", nb, sft, grpo);

        var m = Metrics(mmEureka);
        if (m is not null && m.Count > 0)
        {
            var (acc0, acc1) = Ends(m, "accuracy");
            var (len0, len1) = Ends(m, "completion_length");
            bool accUp = acc1 > acc0, lenUp = len1 > len0;
            yield return new ResultRow("MM-Eureka", "Accuracy reward and response length rise together",
                "both rise over training (Figure 1)", $"rollout accuracy {Pct(acc0)} -> {Pct(acc1)}, length {len0:F1} -> {len1:F1} tokens (first vs last fifth of the steps)",
                accUp && lenUp ? Verdict.Yes : accUp || lenUp ? Verdict.Partly : Verdict.No,
                accUp && lenUp ? "both rose" : accUp ? "accuracy rose, length did not" : lenUp ? "length rose, accuracy did not" : "neither rose", nb);
        }
        else yield return Missing("MM-Eureka", "Accuracy reward and response length rise together", "both rise over training (Figure 1)", nb, mmEureka);

        double? offAcc = EvalAccuracy(noFilter, "eval-test.json");
        if (mmAcc is { } on && offAcc is { } off)
        {
            double d = Points(on - off);
            yield return new ResultRow("MM-Eureka", "The online accuracy filter is needed for stable training",
                "without it accuracy collapsed towards zero", $"greedy test {Pct(on)} with the filter, {Pct(off)} without",
                Better(d), $"filter on {Signed(d)} points vs off (yes: >= +{ClearPoints}; partly: > 0)", nb);
        }
        else yield return Missing("MM-Eureka", "The online accuracy filter is needed for stable training", "without it accuracy collapsed towards zero", nb, mmEureka, noFilter);

        var mk = Metrics(kl);
        if (m is not null && mk is not null && m.Count > 0 && mk.Count > 0)
        {
            double lenNo = Ends(m, "completion_length").last, lenKl = Ends(mk, "completion_length").last;
            double rel = (lenKl - lenNo) / lenNo;
            yield return new ResultRow("MM-Eureka", "A 0.01 reference KL makes responses shorter",
                "shorter responses with KL 0.01", $"final length {lenNo:F1} tokens without KL, {lenKl:F1} with",
                rel < -0.05 ? Verdict.Yes : rel < 0 ? Verdict.Partly : Verdict.No,
                $"KL changed the length by {rel:+0.0%;-0.0%} (yes: at least 5% shorter; partly: shorter)", nb);
        }
        else yield return Missing("MM-Eureka", "A 0.01 reference KL makes responses shorter", "shorter responses with KL 0.01", nb, mmEureka, kl);
    }

    private static IEnumerable<ResultRow> Cpgd(string grpo, string cpgd, string sweepDir)
    {
        const string nb = "04-cpgd-stability";
        var summary = SweepSummary.Read(SweepRunDirs(sweepDir));
        var byAlgo = summary.ByAlgo().ToDictionary(a => a.algo);
        string[] baselines = ["grpo", "rloo", "reinforce_pp", "no_clip"];
        if (byAlgo.ContainsKey("cpgd") && baselines.Any(byAlgo.ContainsKey))
        {
            var present = baselines.Where(byAlgo.ContainsKey).ToList();
            int majority = present.Count(a => byAlgo[a].collapsed * 2 > byAlgo[a].runs);
            var c = byAlgo["cpgd"];
            string counts = string.Join(", ", present.Select(a => $"{a} {byAlgo[a].collapsed}/{byAlgo[a].runs}")) + $"; cpgd {c.collapsed}/{c.runs}";
            int baseCollapsed = present.Sum(a => byAlgo[a].collapsed), baseRuns = present.Sum(a => byAlgo[a].runs);
            var verdict = majority >= 2 && c.collapsed == 0 ? Verdict.Yes
                : baseCollapsed / (double)baseRuns > c.collapsed / (double)c.runs ? Verdict.Partly : Verdict.No;
            yield return new ResultRow("CPGD", "GRPO, RLOO and REINFORCE++ collapse where CPGD stays stable",
                "Figure 1: the baselines collapse, CPGD does not", $"runs collapsed ({SweepSummary.CollapseDrop * 100:F0}-point drop from best, length cut, or stop): {counts}",
                verdict, $"{majority} baselines collapsed in most seeds (yes: >= 2 of them, and no CPGD run; partly: baselines collapse more often than CPGD)", nb);

            double ratioCpgd = c.ratioMax, ratioBase = present.Max(a => byAlgo[a].ratioMax);
            yield return new ResultRow("CPGD", "Clipping the log-ratio keeps the importance ratio bounded",
                "ratio spikes in the baselines, none in CPGD", $"largest ratio: baselines {ratioBase:G3}, cpgd {ratioCpgd:G3}",
                ratioCpgd * 10 <= ratioBase ? Verdict.Yes : ratioCpgd < ratioBase ? Verdict.Partly : Verdict.No,
                "yes: CPGD's largest ratio at least 10x below the baselines'; partly: below", nb);
        }
        else
        {
            yield return Missing("CPGD", "GRPO, RLOO and REINFORCE++ collapse where CPGD stays stable", "Figure 1: the baselines collapse, CPGD does not", nb, sweepDir);
            yield return Missing("CPGD", "Clipping the log-ratio keeps the importance ratio bounded", "ratio spikes in the baselines, none in CPGD", nb, sweepDir);
        }

        double? g = EvalAccuracy(grpo, "eval-test.json"), cp = EvalAccuracy(cpgd, "eval-test.json");
        if (g is { } ga && cp is { } ca)
        {
            double d = Points(ca - ga);
            yield return new ResultRow("CPGD", "CPGD matches or beats GRPO in a normal run",
                "Table 1 overall: CPGD 1.11, GRPO 1.06", $"greedy test {Pct(ca)} (CPGD) vs {Pct(ga)} (GRPO)",
                d >= 0 ? Verdict.Yes : d >= -ClearPoints ? Verdict.Partly : Verdict.No, $"CPGD {Signed(d)} points vs GRPO (yes: >= 0; partly: within {ClearPoints})", nb);
        }
        else yield return Missing("CPGD", "CPGD matches or beats GRPO in a normal run", "Table 1 overall: CPGD 1.11, GRPO 1.06", nb, grpo, cpgd);
    }

    private const string MajorityClaim = "The PRM picks better than majority vote (beyond the paper)";

    private static IEnumerable<ResultRow> MmPrm(string runs, string preset)
    {
        const string annotation = "05-mm-prm-annotation", bon = "06-mm-prm-best-of-n";
        string annotate = Path.Combine(runs, $"annotate-{preset}");
        var summary = ReadJson(Path.Combine(annotate, "summary.json"));
        var stepwise = ReadJson(Path.Combine(annotate, "stepwise.json"));
        const string costClaim = "Binary search locates the first error with fewer rollouts than per-step MC (Math-Shepherd)";
        const string costPaper = "OmegaPRM: O(log n) MC estimates per wrong solution instead of n";
        if (summary is not null && stepwise is not null && Num(stepwise, "binary_rollouts_per_solution") is { } binSol && Num(stepwise, "stepwise_rollouts_per_solution") is { } perSol)
        {
            // Per wrong solution is the claim's unit (the cost of finding its first error); per label is shown too,
            // since per-step estimation labels every step and the binary search only the steps it probes.
            double binLabel = Num(stepwise, "binary_rollouts_per_label") ?? double.NaN, perLabel = Num(stepwise, "stepwise_rollouts_per_label") ?? double.NaN;
            yield return new ResultRow("MM-PRM", costClaim, costPaper,
                $"{Num(summary, "labels") ?? 0:N0} step labels from {Num(summary, "kept") ?? 0:N0} of {Num(summary, "problems") ?? 0:N0} problems; per wrong solution {binSol:F1} rollouts (binary) vs {perSol:F1} (per step); " +
                $"per label {binLabel:F2} vs {perLabel:F2}; same first error in {Num(stepwise, "first_error_agreement") ?? double.NaN:P0} of {Num(stepwise, "solutions") ?? 0:N0}",
                binSol < 0.8 * perSol ? Verdict.Yes : binSol < perSol ? Verdict.Partly : Verdict.No, "rollouts per wrong solution (yes: at least 20% fewer; partly: fewer)", annotation);
        }
        else yield return Missing("MM-PRM", costClaim, costPaper, annotation, annotate);

        var soft = ReadJson(Path.Combine(runs, $"bon-{preset}-test", "table.json"));
        var hard = ReadJson(Path.Combine(runs, $"bon-{preset}-test", "table-hard.json"));
        if (soft is not null && Table(soft) is { } t)
        {
            var (best, bestAcc) = BestAggregator(t);
            double random = t.acc[Prm.BestOfN.Random][^1], majority = t.acc.TryGetValue(Prm.BestOfN.Majority, out var mv) ? mv[^1] : double.NaN;
            var curve = t.acc[best];
            bool rises = curve[^1] > curve[0];
            double overRandom = Points(bestAcc - random);
            int n = t.ns[^1];
            yield return new ResultRow("MM-PRM", $"Best-of-{n} with the PRM beats a random pick, more so as N grows",
                "MM-K12 BoN-16: 33.9 (random) -> 42.8 (MM-PRM), +8.9", $"{best} {Pct(bestAcc)} vs random {Pct(random)} on {t.problems} test problems; N=1 -> N={n}: {Pct(curve[0])} -> {Pct(curve[^1])}" +
                (soft["separation"] is JsonObject separation && Num(separation, best) is { } sep ? $"; separation of right from wrong candidates {sep:F2} (0.5: a coin)" : ""),
                overRandom >= ClearPoints && rises ? Verdict.Yes : overRandom > 0 ? Verdict.Partly : Verdict.No,
                $"{Signed(overRandom)} points over random{(rises ? ", rising with N" : ", not rising with N")} (yes: >= +{ClearPoints} and rising; partly: > 0)", bon);
            if (double.IsNaN(majority)) yield return Missing("MM-PRM", MajorityClaim, "not reported", bon, "majority vote in table.json");
            else
            {
                double overMajority = Points(bestAcc - majority);
                yield return new ResultRow("MM-PRM", MajorityClaim,
                    "not reported", $"{best} {Pct(bestAcc)} vs majority vote {Pct(majority)}", Better(overMajority),
                    $"{Signed(overMajority)} points (yes: >= +{ClearPoints}; partly: > 0)", bon);
            }
            if (hard is not null && Table(hard) is { } th && th.acc.Count > 0)
            {
                // Each PRM at its own best aggregator: judging the hard one by the soft one's favourite would favour soft.
                var (hardBest, hardAcc) = BestAggregator(th);
                double d = Points(bestAcc - hardAcc);
                yield return new ResultRow("MM-PRM", "Soft labels (MC values) beat hard labels",
                    "MM-K12 BoN-16: about 43 (soft) vs 34-37 (hard)", $"best aggregator at N={n}: {best} {Pct(bestAcc)} (soft) vs {hardBest} {Pct(hardAcc)} (hard)",
                    Better(d), $"soft {Signed(d)} points vs hard (yes: >= +{ClearPoints}; partly: > 0)", bon);
            }
            else yield return Missing("MM-PRM", "Soft labels (MC values) beat hard labels", "MM-K12 BoN-16: about 43 (soft) vs 34-37 (hard)", bon, Path.Combine(runs, $"bon-{preset}-test", "table-hard.json"));
        }
        else
        {
            string table = Path.Combine(runs, $"bon-{preset}-test");
            yield return Missing("MM-PRM", "Best-of-N with the PRM beats a random pick, more so as N grows", "MM-K12 BoN-16: 33.9 (random) -> 42.8 (MM-PRM), +8.9", bon, table);
            yield return Missing("MM-PRM", MajorityClaim, "not reported", bon, table);
            yield return Missing("MM-PRM", "Soft labels (MC values) beat hard labels", "MM-K12 BoN-16: about 43 (soft) vs 34-37 (hard)", bon, table);
        }

        // The learning-rate sweep, judged on held-out ProcessBench F1 (its last evaluation).
        var f1 = new List<(double lr, double f1)>();
        foreach (var lr in PrmRates)
        {
            string dir = lr == Prm.PrmConfig.ForPreset(preset).LearningRate ? Path.Combine(runs, $"prm-{preset}-soft") : Path.Combine(runs, PrmRateFolder(preset, lr));
            if (Metrics(dir) is { } pm && RunFolder.Series(pm, "eval_f1").values is { Length: > 0 } v) f1.Add((lr, v[^1]));
        }
        if (f1.Count >= 3)
        {
            var peak = f1.MaxBy(x => x.f1);
            bool largestHurts = f1[^1].f1 < peak.f1;
            bool peakNotLargest = peak.lr < f1.Max(x => x.lr);
            yield return new ResultRow("MM-PRM", "Small learning rates beat large ones",
                "peak at 4e-6 (about 1/10 of SFT's); larger rates hurt", "held-out F1 by lr: " + string.Join(", ", f1.Select(x => $"{x.lr.ToString("0.##e0", CultureInfo.InvariantCulture)} {x.f1:F3}")),
                peakNotLargest && largestHurts && peak.lr < f1.Max(x => x.lr) / 3 ? Verdict.Yes : peakNotLargest ? Verdict.Partly : Verdict.No,
                $"peak at lr {peak.lr.ToString("0.##e0", CultureInfo.InvariantCulture)} (yes: the peak is below a third of the largest rate and the largest is worse; partly: not the largest)", bon);
        }
        else yield return Missing("MM-PRM", "Small learning rates beat large ones", "peak at 4e-6 (about 1/10 of SFT's); larger rates hurt", bon, Path.Combine(runs, $"prm-{preset}-lr*"));
    }

    /// <summary>The rows as JSON (results.json): one object per row, verdicts as lower-case words.</summary>
    public static JsonObject ToJson(IReadOnlyList<ResultRow> rows, string preset) => new()
    {
        ["preset"] = preset,
        ["rows"] = new JsonArray(rows.Select(r => (JsonNode?)new JsonObject
        {
            ["paper"] = r.Paper, ["claim"] = r.Claim, ["paper_number"] = r.PaperNumber, ["ours"] = r.Ours,
            ["reproduced"] = VerdictName(r.Verdict), ["why"] = r.Why, ["notebook"] = r.Notebook,
        }).ToArray()),
    };

    /// <summary>"yes", "partly", "no" or "not run".</summary>
    public static string VerdictName(Verdict v) => v switch { Verdict.Yes => "yes", Verdict.Partly => "partly", Verdict.No => "no", _ => "not run" };

    /// <summary>Reads results.json back.</summary>
    public static IReadOnlyList<ResultRow> FromJson(JsonObject json) =>
        (json["rows"] as JsonArray ?? throw new FormatException("results.json: field rows is missing")).Select(n => new ResultRow(
            (string)n!["paper"]!, (string)n["claim"]!, (string)n["paper_number"]!, (string)n["ours"]!,
            (string)n["reproduced"]! switch { "yes" => Verdict.Yes, "partly" => Verdict.Partly, "no" => Verdict.No, _ => Verdict.NotRun },
            (string)n["why"]!, (string)n["notebook"]!)).ToList();

    private static ResultRow Missing(string paper, string claim, string paperNumber, string notebook, params string[] needed) =>
        new(paper, claim, paperNumber, "-", Verdict.NotRun, "missing: " + string.Join(", ", needed.Select(Path.GetFileName)), notebook);

    private static Verdict Better(double points) => points >= ClearPoints ? Verdict.Yes : points > 0 ? Verdict.Partly : Verdict.No;

    private static double Points(double fraction) => Math.Round(100 * fraction, 1);
    private static string Pct(double fraction) => (100 * fraction).ToString("F1", CultureInfo.InvariantCulture) + "%";
    private static string Opt(double? fraction) => fraction is { } f ? Pct(f) : "-";
    private static string Signed(double points) => points.ToString("+0.0;-0.0;0.0", CultureInfo.InvariantCulture);

    private static JsonObject? ReadJson(string path) => File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path)) as JsonObject : null;
    private static double? Num(JsonObject o, string key) => o[key] is JsonValue v && v.TryGetValue<double>(out var d) ? d : null;
    private static double? EvalAccuracy(string dir, string file) => ReadJson(Path.Combine(dir, file)) is { } o ? Num(o, "accuracy") : null;
    /// <summary>The run folders of a sweep (those holding a config.json), in name order; none when it does not exist.</summary>
    public static IReadOnlyList<string> SweepRunDirs(string sweepDir) =>
        Directory.Exists(sweepDir) ? Directory.GetDirectories(sweepDir).Where(d => File.Exists(Path.Combine(d, "config.json"))).OrderBy(d => d, StringComparer.Ordinal).ToList() : [];

    /// <summary>A run folder's metrics.jsonl rows, or null when it has none.</summary>
    public static IReadOnlyList<(int step, string key, double value)>? Metrics(string dir) =>
        File.Exists(Path.Combine(dir, "metrics.jsonl")) ? RunFolder.ReadMetrics(Path.Combine(dir, "metrics.jsonl")) : null;

    /// <summary>Means of a per-step metric over the first and the last fifth of the steps that log it.</summary>
    private static (double first, double last) Ends(IReadOnlyList<(int step, string key, double value)> m, string key)
    {
        var v = RunFolder.Series(m, key).values;
        if (v.Length == 0) return (double.NaN, double.NaN);
        int k = Math.Max(1, v.Length / 5);
        return (v.Take(k).Average(), v.TakeLast(k).Average());
    }

    private static (int[] ns, Dictionary<string, double[]> acc, int problems)? Table(JsonObject t)
    {
        if (t["n"] is not JsonArray n || t["accuracy"] is not JsonObject a) return null;
        return (n.Select(x => (int)x!).ToArray(), a.ToDictionary(kv => kv.Key, kv => kv.Value!.AsArray().Select(x => (double)x!).ToArray()), (int?)t["problems"] ?? 0);
    }

    /// <summary>The PRM aggregator with the highest accuracy at the largest N (ties to the first in MM-PRM's order).</summary>
    private static (string name, double acc) BestAggregator((int[] ns, Dictionary<string, double[]> acc, int problems) t) =>
        Prm.Aggregators.All.Select(Prm.Aggregators.Name).Where(t.acc.ContainsKey).Select(a => (a, t.acc[a][^1])).MaxBy(x => x.Item2);
}
