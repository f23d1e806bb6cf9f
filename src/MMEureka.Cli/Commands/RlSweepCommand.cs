using System.Globalization;
using System.CommandLine;
using MMEureka.Models;
using MMEureka.Rl;
using MMEureka.Sft;

namespace MMEureka.Cli.Commands;

/// <summary><c>mmeureka rl sweep</c>: CPGD's stability study, algorithms x seeds one after another, then a summary.</summary>
internal static class RlSweepCommand
{
    /// <summary>CPGD's comparison: its Figure 1 and Table 1 baselines and the ablation family.</summary>
    public const string DefaultAlgos = "grpo,rloo,reinforce_pp,no_clip,dual_clip,cpg,cpgd,pg,pgd";

    public static Command Create()
    {
        var algos = new Option<string>("--algos") { Description = "Comma-separated recipes (" + string.Join(", ", RlConfig.Algos) + ").", DefaultValueFactory = _ => DefaultAlgos };
        var seeds = new Option<string>("--seeds") { Description = "Comma-separated seeds.", DefaultValueFactory = _ => "1,2,3" };
        var preset = new Option<string>("--preset") { Description = "stress (CPGD's unstable regime), quick, tiny (CI) or full.", DefaultValueFactory = _ => "stress" };
        preset.AcceptOnlyFromAmong([.. RlConfig.Presets]);
        var init = new Option<string?>("--init") { Description = "The SFT policy checkpoint every run starts from (e.g. runs/sft-quick/checkpoint)." };
        var data = new Option<string?>("--data") { Description = "MiniK12 folder. Default: data/generated/minik12[-tiny]." };
        var output = new Option<string?>("--out") { Description = "Sweep folder (one run folder per algorithm and seed). Default: runs/sweep-PRESET." };
        var set = RlCommand.SetOption();
        var command = new Command("sweep", "Trains each algorithm x seed in its own run folder under --out (finished runs are skipped, an interrupted one resumes), then writes summary.json and summary.csv.")
            { algos, seeds, preset, init, data, output, set };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            string presetName = parse.GetValue(preset)!;
            var algoList = Split(parse.GetValue(algos)!, "--algos");
            foreach (var a in algoList)
                if (!RlConfig.Algos.Contains(a)) throw new ArgumentException($"--algos: unknown algorithm '{a}' (expected {string.Join(", ", RlConfig.Algos)})");
            var seedList = Split(parse.GetValue(seeds)!, "--seeds").Select(s => long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v)
                ? v : throw new ArgumentException($"--seeds: '{s}' is not a whole number")).ToList();
            string checkpoint = parse.GetValue(init) ?? "";
            string dir = parse.GetValue(output) ?? Path.Combine("runs", $"sweep-{presetName}");
            var sweep = new Sweep(algoList, seedList, presetName, parse.GetValue(set) ?? [], checkpoint, dir); // validates every config first
            if (checkpoint == "") throw new ArgumentException("--init is required: the SFT checkpoint every run starts from (e.g. runs/sft-quick/checkpoint)");
            if (!File.Exists(Path.Combine(checkpoint, MiniVlm.WeightsFile)))
                throw new ArgumentException($"--init {checkpoint} is not a checkpoint folder (no {MiniVlm.WeightsFile})");
            var splits = SftData.LoadOrGenerate(parse.GetValue(data) ?? SftData.DefaultDir(presetName), RlCommand.SftConfigData(presetName), Console.WriteLine);
            var c0 = sweep.Runs[0].Config;
            Console.WriteLine($"sweep ({presetName}): {algoList.Count} algorithms x {seedList.Count} seeds = {sweep.Runs.Count} runs of {c0.Steps} steps x " +
                              $"{c0.PromptsPerStep} prompts x {c0.GroupSize}, {c0.MiniBatches} minibatches x {c0.Epochs} epochs, lr {c0.LearningRate:G3} -> {dir}");
            var lastPrint = DateTime.MinValue;
            var summary = sweep.Run(splits.Train, splits.Test, splits.Ood, p =>
            {
                string head = $"[{p.Index + 1}/{p.Total}] {p.Run.Algo} seed {p.Run.Seed}";
                string eta = p.Eta is { } e ? $" | sweep elapsed {Fmt(p.Elapsed)} eta {Fmt(e)}" : $" | sweep elapsed {Fmt(p.Elapsed)}";
                if (p.Event != "step")
                {
                    Console.WriteLine($"{head} {p.Event}{(p.Detail != null ? ": " + p.Detail : "")}{eta}");
                    return;
                }
                var m = p.Step!.Metrics;
                bool due = m["eval_accuracy"] != null || p.Step.Step == p.Step.TotalSteps || (DateTime.UtcNow - lastPrint).TotalSeconds >= 30;
                if (!due) return;
                lastPrint = DateTime.UtcNow;
                string Num(string key, string f) => m[key] is { } v ? v.GetValue<double>().ToString(f, CultureInfo.InvariantCulture) : "-";
                string test = m["eval_accuracy"] is { } a ? $" test {a.GetValue<double>() * 100:F1}%" : "";
                Console.WriteLine($"{head} step {p.Step.Step}/{p.Step.TotalSteps} acc {(m["accuracy"] is { } ra ? $"{ra.GetValue<double>() * 100:F0}%" : "-")} len {Num("completion_length", "F0")} " +
                                  $"ratio_max {Num("ratio_max", "F2")}{test}{eta}");
            });
            Console.WriteLine($"{"algo",-13} {"seed",4} {"best",6} {"final",6} {"ood",6} {"ratio",8} {"len",6} {"overall",7}  collapsed");
            foreach (var r in summary.Runs)
                Console.WriteLine($"{r.Algo,-13} {r.Seed,4} {r.BestAccuracy * 100,5:F1}% {r.FinalAccuracy * 100,5:F1}% {(r.FinalOodAccuracy is { } o ? $"{o * 100,5:F1}%" : "     -")} " +
                                  $"{r.RatioMax,8:G3} {r.FinalLength,6:F1} {(r.Overall is { } ov ? $"{ov,7:F2}" : "      -")}  {(r.Collapsed ? "yes: " + r.CollapseReason : "no")}");
            Console.WriteLine($"summary: {Path.Combine(dir, "summary.json")}, {Path.Combine(dir, "summary.csv")}");
            return 0;
        }));
        return command;
    }

    private static List<string> Split(string text, string option)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList();
        if (parts.Count == 0) throw new ArgumentException($"{option} is empty");
        return parts;
    }

    private static string Fmt(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}m" : $"{t.Minutes}m{t.Seconds:D2}s";
}
