using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using MMEureka.Data;
using MMEureka.Models;
using MMEureka.Prm;
using MMEureka.Sft;
using Spectre.Console;

namespace MMEureka.Cli.Commands;

/// <summary><c>mmeureka prm train|score</c>: the process reward model (MM-PRM) and its per-step scores.</summary>
internal static class PrmCommand
{
    public static Command Create()
    {
        var command = new Command("prm", "The process reward model: train it on annotated step labels, or score one solution's steps.");
        command.Subcommands.Add(Train());
        command.Subcommands.Add(Score());
        command.Subcommands.Add(GoldLabels());
        return command;
    }

    private static Command GoldLabels()
    {
        var output = new Option<string>("--out") { Description = "Folder to write steps.jsonl into.", Required = true };
        var data = new Option<string>("--data") { Description = "MiniK12 folder (its train split).", DefaultValueFactory = _ => SftData.DefaultDir("quick") };
        var count = new Option<int?>("--problems") { Description = "Use only the first N train problems." };
        var seed = new Option<long>("--seed") { Description = "Seed of the corrupted steps.", DefaultValueFactory = _ => 1 };
        var command = new Command("gold-labels", "Write step labels made from gold solutions (no rollouts): each gold path, the gold thoughts " +
                                                 "with a wrong answer, and the path cut at a step with one digit changed (exact labels, for tests and demos).")
            { output, data, count, seed };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            if (parse.GetValue(count) is <= 0) throw new ArgumentException("--problems must be positive");
            IReadOnlyList<Problem> train = MiniK12.Load(parse.GetValue(data)!, Split.Train, loadImages: false);
            if (parse.GetValue(count) is { } n) train = train.Take(n).ToList();
            var paths = PrmData.FromGold(train, parse.GetValue(seed));
            string dir = parse.GetValue(output)!;
            Directory.CreateDirectory(dir);
            StepExample.WriteJsonl(Path.Combine(dir, "steps.jsonl"), paths.Select(p => p.Path));
            Console.WriteLine($"wrote {paths.Count} paths ({paths.Sum(p => p.Path.Labels.Count)} step labels) for {train.Count} problems to {Path.Combine(dir, "steps.jsonl")}");
            return 0;
        }));
        return command;
    }

    private static Command Train()
    {
        var data = new Option<string>("--data") { Description = "Annotation run folder holding steps.jsonl (or the file itself).", Required = true };
        var init = new Option<string>("--init") { Description = "Policy checkpoint the PRM starts from.", DefaultValueFactory = _ => Path.Combine("runs", "sft-quick", "checkpoint") };
        var labels = new Option<string>("--labels") { Description = "soft (MC values, MM-PRM) or hard (MC > 0).", DefaultValueFactory = _ => "soft" };
        labels.AcceptOnlyFromAmong("soft", "hard");
        var orm = new Option<bool>("--orm") { Description = "Train the outcome reward model instead (one tag after the answer, the verifier's label)." };
        var preset = new Option<string>("--preset") { Description = "tiny (CI), quick or full.", DefaultValueFactory = _ => "quick" };
        preset.AcceptOnlyFromAmong("tiny", "quick", "full");
        var lr = new Option<double?>("--lr") { Description = "Peak learning rate." };
        var steps = new Option<int?>("--steps") { Description = "Optimizer steps." };
        var seed = new Option<long?>("--seed") { Description = "Seed of the held-out split and the data order." };
        var problems = new Option<string?>("--problems-dir") { Description = "MiniK12 folder whose train split the paths come from. Default: data/generated/minik12[-tiny]." };
        var output = new Option<string?>("--out") { Description = "Run folder. Default: runs/prm-PRESET-LABELS (runs/orm-PRESET with --orm)." };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its checkpoint." };
        var force = new Option<bool>("--force") { Description = "Start over in an --out folder that already holds a run." };
        var trainVision = new Option<bool>("--train-vision") { Description = "Let the vision tower learn too (an ablation; MM-PRM keeps it frozen)." };
        var command = new Command("train", "Train the PRM on step labels; writes metrics.jsonl and checkpoint/ under --out.")
            { data, init, labels, orm, preset, lr, steps, seed, problems, output, resume, force, trainVision };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            string presetName = parse.GetValue(preset)!;
            var config = PrmConfig.ForPreset(presetName) with
            {
                Labels = parse.GetValue(labels) == "hard" ? PrmLabels.Hard : PrmLabels.Soft,
                Outcome = parse.GetValue(orm),
                TrainVision = parse.GetValue(trainVision),
            };
            if (parse.GetValue(lr) is { } l) config = config with { LearningRate = l };
            if (parse.GetValue(steps) is { } s) config = config with { Steps = s };
            if (parse.GetValue(seed) is { } sd) config = config with { Seed = sd };
            config.Validate();
            if (parse.GetValue(resume) && parse.GetValue(force)) throw new ArgumentException("--resume and --force exclude each other");
            string runDir = parse.GetValue(output) ?? Path.Combine("runs", config.Outcome ? $"orm-{presetName}" : $"prm-{presetName}-{parse.GetValue(labels)}");
            string dataPath = parse.GetValue(data)!;
            if (!File.Exists(PrmData.StepsFile(dataPath))) throw new FileNotFoundException($"{PrmData.StepsFile(dataPath)} does not exist (run `mmeureka annotate` first)");

            if (Environment.GetEnvironmentVariable(Torch.Gemm.EnvironmentVariable) is null)
                Environment.SetEnvironmentVariable(Torch.Gemm.EnvironmentVariable, "managed"); // as sft: small products
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var train = MiniK12.Load(parse.GetValue(problems) ?? SftData.DefaultDir(presetName), Split.Train);
            var examples = PrmData.Load(dataPath, train);
            var trainer = new PrmTrainer(config, examples, dataPath, parse.GetValue(init)!, runDir);
            Console.WriteLine($"prm train {presetName}: {(config.Outcome ? "outcome model" : config.Labels.ToString().ToLowerInvariant() + " labels")}, " +
                              $"{trainer.TrainItems.Count} paths ({trainer.TrainItems.Sum(i => i.Labels.Length)} tags) for training, {trainer.EvalItems.Count} held out; " +
                              $"{config.Steps} steps x {config.BatchSize}, lr {config.LearningRate:G3} -> {trainer.Folder.Dir}");
            var result = Run(trainer, config, parse.GetValue(resume), parse.GetValue(force));
            if (result.Stopped != null)
            {
                Console.Error.WriteLine($"error: stopped: {result.Stopped}; the last good checkpoint is {result.Checkpoint}");
                return 1;
            }
            Console.WriteLine($"step {result.Step}: loss {result.Loss:F4}{EvalText(result.LastEval)}; {clock.Elapsed.TotalMinutes:F1} min; checkpoint {result.Checkpoint}");
            return 0;
        }));
        return command;
    }

    private static PrmResult Run(PrmTrainer trainer, PrmConfig config, bool resume, bool force)
    {
        if (Console.IsOutputRedirected || Environment.GetEnvironmentVariable("CI") is { Length: > 0 })
        {
            var lastPrint = DateTime.MinValue;
            return trainer.Run(resume, progress: p =>
            {
                if (p.Step != p.TotalSteps && p.Eval == null && (DateTime.UtcNow - lastPrint).TotalSeconds < 10) return;
                lastPrint = DateTime.UtcNow;
                Console.WriteLine($"step {p.Step}/{p.TotalSteps} loss {p.Loss:F4} lr {p.LearningRate:G3} elapsed {p.Elapsed:mm\\:ss} eta {p.Eta:mm\\:ss}{EvalText(p.Eval)}");
            }, overwrite: force);
        }
        PrmResult result = null!;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("prm", maxValue: config.Steps);
                string evalText = "";
                result = trainer.Run(resume, progress: p =>
                {
                    if (p.Eval != null) evalText = EvalText(p.Eval);
                    task.Value = p.Step;
                    task.Description = Markup.Escape($"step {p.Step} loss {p.Loss:F3}{evalText}");
                }, overwrite: force);
            });
        return result;
    }

    private static string EvalText(PrmMetrics? m) => m is null ? "" :
        $" | held-out step BCE {m.StepBce:F4}, ProcessBench F1 {m.F1:F3} (wrong {m.WrongAccuracy:P0}, correct {m.CorrectAccuracy:P0})";

    private static Command Score()
    {
        var prm = new Option<string>("--prm") { Description = "PRM (or ORM) checkpoint folder.", Required = true };
        var problem = new Option<string>("--problem") { Description = "MiniK12 problem id (e.g. test-000003).", Required = true };
        var response = new Option<string>("--response") { Description = "\"<think>step\\nstep</think><answer>X</answer>\" (a literal \\n separates steps).", Required = true };
        var data = new Option<string>("--data") { Description = "MiniK12 folder.", DefaultValueFactory = _ => SftData.DefaultDir("quick") };
        var json = new Option<bool>("--json") { Description = "Print steps, scores and the PRM's input (tokens, tag indices, pixels) as JSON, for bench/parity.py prm." };
        var command = new Command("score", "Print the PRM's score of each step of one solution.") { prm, problem, response, data, json };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            string id = parse.GetValue(problem)!;
            var split = id.StartsWith("ood", StringComparison.Ordinal) ? Split.Ood : id.StartsWith("train", StringComparison.Ordinal) ? Split.Train : Split.Test;
            var p = MiniK12.Load(parse.GetValue(data)!, split).FirstOrDefault(x => x.Id == id)
                    ?? throw new ArgumentException($"problem {id} is not in {parse.GetValue(data)} ({split.ToString().ToLowerInvariant()} split)");
            string text = parse.GetValue(response)!.Replace("\\n", "\n");
            var solution = Solution.Parse(text);
            if (solution.StepCount == 0) throw new ArgumentException("--response has no steps: write \"<think>step\\nstep</think><answer>X</answer>\"");
            string dir = parse.GetValue(prm)!;
            var model = MiniVlm.Load(dir, out var tokenizer);
            bool outcome = PrmTrainer.IsOutcomeModel(dir);
            var input = PrmInput.Build(tokenizer, p, solution, model.Config.MaxTextLen, outcome);
            var scores = StepScores.Score(model, [input])[0];
            var names = outcome ? ["outcome"] : solution.Thoughts.Select((t, i) => $"step {i + 1}: {t}").Concat(solution.Answer is { } a ? [$"answer: {a}"] : []).ToList();
            if (parse.GetValue(json))
            {
                var o = new JsonObject
                {
                    ["problem"] = id, ["outcome_model"] = outcome,
                    ["steps"] = new JsonArray(names.Take(scores.Length).Select(n => (JsonNode?)n).ToArray()),
                    ["scores"] = new JsonArray(scores.Select(v => (JsonNode?)v).ToArray()),
                    ["tokens"] = new JsonArray(input.Prompt.Concat(input.Response).Select(t => (JsonNode?)t).ToArray()),
                    ["tags"] = new JsonArray(input.TagIndices.Select(k => (JsonNode?)(input.Prompt.Length + k)).ToArray()),
                    ["pixels"] = new JsonArray(input.Pixels.Select(v => (JsonNode?)v).ToArray()),
                };
                Console.WriteLine(o.ToJsonString());
                return 0;
            }
            Console.WriteLine($"{id}: {p.Question} (gold {p.Answer})");
            for (int i = 0; i < names.Count; i++)
                Console.WriteLine(i < scores.Length
                    ? $"  {scores[i].ToString("F3", CultureInfo.InvariantCulture)}{(scores[i] < PrmMetrics.Threshold ? " <" : "  ")} {names[i]}"
                    : $"    -     {names[i]} (past the model's window: not scored)");
            if (!outcome)
                Console.WriteLine("  " + string.Join(", ", Aggregators.All.Select(a => $"{Aggregators.Name(a)} {Aggregators.Aggregate(scores, a):G4}")));
            return 0;
        }));
        return command;
    }
}
