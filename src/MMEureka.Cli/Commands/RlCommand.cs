using System.CommandLine;
using MMEureka.Data;
using MMEureka.Models;
using MMEureka.Rl;
using MMEureka.Runs;
using MMEureka.Sft;
using Spectre.Console;

namespace MMEureka.Cli.Commands;

/// <summary><c>mmeureka rl</c>: rule-based RL of an SFT policy (GRPO, MM-Eureka, CPGD and their baselines); <c>rl loss</c>.</summary>
internal static class RlCommand
{
    public static Command Create()
    {
        var algo = new Option<string>("--algo") { Description = "Recipe: " + string.Join(", ", RlConfig.Algos) + ".", DefaultValueFactory = _ => "grpo" };
        algo.AcceptOnlyFromAmong([.. RlConfig.Algos]);
        var init = new Option<string?>("--init") { Description = "The SFT policy checkpoint to start from (e.g. runs/sft-quick/checkpoint)." };
        var preset = new Option<string>("--preset") { Description = "tiny (CI), quick (a first run), full, or stress (CPGD's unstable regime).", DefaultValueFactory = _ => "quick" };
        preset.AcceptOnlyFromAmong([.. RlConfig.Presets]);
        var data = new Option<string?>("--data") { Description = "MiniK12 folder. Default: data/generated/minik12[-tiny]." };
        var output = new Option<string?>("--out") { Description = "Run folder. Default: runs/rl-ALGO-PRESET." };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its checkpoint." };
        var force = new Option<bool>("--force") { Description = "Start over in an --out folder that already holds a run." };
        var noFilter = new Option<bool>("--no-filter") { Description = "Switch MM-Eureka's online accuracy filter off." };
        var filter = new Option<bool>("--filter") { Description = "Switch the online accuracy filter on." };
        var epochs = new Option<int?>("--epochs") { Description = "Passes over each rollout batch." };
        var lr = new Option<double?>("--lr") { Description = "Learning rate." };
        var steps = new Option<int?>("--steps") { Description = "Rollout batches." };
        var groupSize = new Option<int?>("--group-size") { Description = "Responses per prompt (G)." };
        var prompts = new Option<int?>("--prompts") { Description = "Prompts per rollout batch." };
        var klCoef = new Option<double?>("--kl-coef") { Description = "Reference KL coefficient (0: none)." };
        var klEstimator = new Option<string?>("--kl-estimator") { Description = "k1, k2 or k3." };
        klEstimator.AcceptOnlyFromAmong("k1", "k2", "k3");
        var evalEvery = new Option<int?>("--eval-every") { Description = "Greedy evaluation every N steps." };
        var seed = new Option<long?>("--seed") { Description = "Seed of prompts, draws and minibatch order." };
        var printOpenRlhf = new Option<bool>("--print-openrlhf") { Description = "Print the flags of MM-EUREKA's OpenRLHF train_ppo_ray that match this recipe, and exit." };
        var set = SetOption();
        var profile = new Option<bool>("--profile") { Description = "Time every engine op, and at the end print where a step's time went: sampling, log-prob recomputation, update." };
        var command = new Command("rl", "Rule-based RL (accuracy + format rewards) from an SFT checkpoint; writes config.json, metrics.jsonl, samples.jsonl and checkpoint/ under --out.")
            { algo, init, preset, data, output, resume, force, noFilter, filter, epochs, lr, steps, groupSize, prompts, klCoef, klEstimator, evalEvery, seed, set, printOpenRlhf, profile };
        command.Subcommands.Add(RlLossCommand.Create());
        command.Subcommands.Add(RlSweepCommand.Create());
        command.SetAction(parse => CliErrors.Run(() =>
        {
            string presetName = parse.GetValue(preset)!, algoName = parse.GetValue(algo)!;
            var c = RlConfig.ForAlgo(algoName, presetName);
            if (parse.GetValue(noFilter) && parse.GetValue(filter)) throw new ArgumentException("--filter and --no-filter exclude each other");
            if (parse.GetValue(noFilter)) c = c with { Filter = false };
            if (parse.GetValue(filter)) c = c with { Filter = true };
            if (parse.GetValue(epochs) is { } e) c = c with { Epochs = e };
            if (parse.GetValue(lr) is { } l) c = c with { LearningRate = l };
            if (parse.GetValue(steps) is { } s) c = c with { Steps = s };
            if (parse.GetValue(groupSize) is { } g) c = c with { GroupSize = g };
            if (parse.GetValue(prompts) is { } p) c = c with { PromptsPerStep = p };
            if (parse.GetValue(klCoef) is { } k) c = c with { Loss = c.Loss with { KlCoef = k } };
            if (parse.GetValue(klEstimator) is { } ke) c = c with { Loss = c.Loss with { KlEstimator = Enum.Parse<KlEstimator>(ke, ignoreCase: true) } };
            if (parse.GetValue(evalEvery) is { } ev) c = c with { EvalEvery = ev };
            if (parse.GetValue(seed) is { } sd) c = c with { Seed = sd };
            c = RlOverrides.Apply(c, parse.GetValue(set) ?? []);
            c.Validate();
            if (parse.GetValue(printOpenRlhf))
            {
                Console.WriteLine(string.Join(" \\\n", c.OpenRlhfFlags().Where(l => !l.StartsWith('#')).Select(l => "  " + l)));
                foreach (var note in c.OpenRlhfFlags().Where(l => l.StartsWith('#'))) Console.WriteLine(note);
                return 0;
            }
            if (parse.GetValue(resume) && parse.GetValue(force)) throw new ArgumentException("--resume and --force exclude each other");
            string checkpoint = parse.GetValue(init) ?? throw new ArgumentException("--init is required: the SFT checkpoint to start from (e.g. runs/sft-quick/checkpoint)");
            if (!File.Exists(Path.Combine(checkpoint, MiniVlm.WeightsFile)))
                throw new ArgumentException($"--init {checkpoint} is not a checkpoint folder (no {MiniVlm.WeightsFile}); train one with: mmeureka sft --preset {presetName}");
            string dataDir = parse.GetValue(data) ?? SftData.DefaultDir(presetName);
            string runDir = parse.GetValue(output) ?? Path.Combine("runs", $"rl-{algoName}-{presetName}");

            var splits = SftData.LoadOrGenerate(dataDir, SftConfigData(presetName), Console.WriteLine);
            var trainer = new RlTrainer(c, checkpoint, splits.Train, splits.Test, splits.Ood, runDir);
            Console.WriteLine($"rl {algoName} ({presetName}): {c.Objective}, {c.Estimator}, {c.Aggregation}, filter {(c.Filter ? "on" : "off")}; " +
                              $"{c.Steps} steps x {c.PromptsPerStep} prompts x {c.GroupSize}, {c.MiniBatches} minibatches x {c.Epochs} epochs, lr {c.LearningRate:G3} -> {trainer.Folder.Dir}");
            var clock = System.Diagnostics.Stopwatch.StartNew();
            bool profiling = parse.GetValue(profile);
            if (profiling) { Torch.Profiler.Enabled = true; Torch.Profiler.Reset(); }
            var result = Train(trainer, c, parse.GetValue(resume), parse.GetValue(force));
            if (profiling) Console.WriteLine(Profile(trainer.Folder.MetricsPath));
            if (result.Stopped != null)
            {
                Console.Error.WriteLine($"error: stopped: {result.Stopped}; the last good checkpoint is {result.Checkpoint}");
                return 1;
            }
            // Final greedy evaluation on the whole test and OOD splits (the periodic one uses their first problems only).
            var greedy = new Eval.EvalConfig { MaxNewTokens = c.MaxNewTokens };
            var test = Eval.Evaluator.Run(trainer.Model, new Tokenizer(), splits.Test, greedy);
            var ood = Eval.Evaluator.Run(trainer.Model, new Tokenizer(), splits.Ood, greedy);
            EvalCommand.WriteReport(Path.Combine(trainer.Folder.Dir, "eval-test.json"), test);
            EvalCommand.WriteReport(Path.Combine(trainer.Folder.Dir, "eval-ood.json"), ood);
            Console.WriteLine($"step {result.Step}: test accuracy {test.Accuracy:P1} ({splits.Test.Count} problems), OOD {ood.Accuracy:P1} ({splits.Ood.Count}), greedy; " +
                              $"total {clock.Elapsed.TotalMinutes:F1} min; checkpoint {result.Checkpoint}");
            return 0;
        }));
        return command;
    }

    /// <summary>
    /// --profile's report: where a step's time goes (sampling the rollouts, the forward passes that recompute
    /// log-probs, the loss/backward/AdamW update, the rest of training; greedy evaluations apart), from this run's
    /// metrics, then the engine's per-op times over the whole run.
    /// </summary>
    internal static string Profile(string metricsPath)
    {
        var m = RunFolder.ReadMetrics(metricsPath);
        double Sum(string key) => m.Where(r => r.key == key).Sum(r => r.value);
        int steps = m.Where(r => r.key == "time_sampling").Count();
        double sampling = Sum("time_sampling"), logprobs = Sum("time_logprobs"), update = Sum("time_update");
        double rest = Sum("time_training") - logprobs - update, eval = Sum("time_eval");
        double total = sampling + logprobs + update + rest;
        var sb = new System.Text.StringBuilder($"profile of {steps} RL steps (seconds per step, share of the step; evaluations apart):\n");
        foreach (var (name, seconds) in new[] { ("sampling rollouts", sampling), ("log-prob recomputation (forward)", logprobs), ("update (loss, backward, AdamW)", update), ("other training work", rest) })
            sb.AppendLine($"  {name,-36}{seconds / Math.Max(steps, 1),8:F3} s{(total > 0 ? seconds / total : 0),8:P1}");
        sb.AppendLine($"  {"greedy evaluations (total)",-36}{eval,8:F1} s");
        sb.AppendLine("per-op times of the engine over the run (forward ops charged with the glue before them):");
        sb.Append(string.Join("\n", Torch.Profiler.Report().Split('\n').Take(22)));
        return sb.ToString();
    }

    /// <summary>The MiniK12 size of a preset (stress trains on the quick data).</summary>
    internal static Data.MiniK12Config SftConfigData(string preset) => SftConfig.ForPreset(preset == "stress" ? "quick" : preset).Data;

    /// <summary><c>--set key=value</c>, repeatable: any config.json field (see <see cref="RlOverrides"/>).</summary>
    internal static Option<string[]> SetOption() => new("--set")
    {
        Description = "Override a config field, key=value with config.json's names (learning_rate=1e-4, epochs=4, estimator=cpgd_equal, loss.kl_coef=0.01); repeatable.",
        AllowMultipleArgumentsPerToken = false, Arity = ArgumentArity.ZeroOrMore,
    };

    private static RlResult Train(RlTrainer trainer, RlConfig c, bool resume, bool force)
    {
        if (Plain())
        {
            var lastPrint = DateTime.MinValue;
            return trainer.Run(resume, progress: p =>
            {
                bool due = p.Step == p.TotalSteps || p.Metrics["eval_accuracy"] != null || (DateTime.UtcNow - lastPrint).TotalSeconds >= 10;
                if (!due) return;
                lastPrint = DateTime.UtcNow;
                Console.WriteLine($"step {p.Step}/{p.TotalSteps} {Line(p)} elapsed {p.Elapsed:mm\\:ss} eta {p.Eta:mm\\:ss}");
            }, overwrite: force);
        }
        RlResult result = null!;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("rl", maxValue: c.Steps);
                result = trainer.Run(resume, progress: p =>
                {
                    task.Value = p.Step;
                    task.Description = Markup.Escape($"step {p.Step} {Line(p)}");
                }, overwrite: force);
            });
        return result;
    }

    private static string Line(RlProgress p)
    {
        var m = p.Metrics;
        string Num(string key, string format) => m[key] is { } v ? v.GetValue<double>().ToString(format) : "-";
        string eval = m["eval_accuracy"] is { } a ? $" | test {a.GetValue<double>():P1}" + (m["eval_ood_accuracy"] is { } o ? $" ood {o.GetValue<double>():P1}" : "") : "";
        return $"reward {Num("reward", "F3")} acc {Num("accuracy", "P0")} len {Num("completion_length", "F0")} ratio_max {Num("ratio_max", "F2")} kept {m["groups_kept"]}{eval}";
    }

    private static bool Plain() => Console.IsOutputRedirected || Environment.GetEnvironmentVariable("CI") is { Length: > 0 };
}
