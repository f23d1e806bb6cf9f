using System.CommandLine;
using System.Text.Json.Nodes;
using MMEureka.Data;
using MMEureka.Models;
using MMEureka.Prm;
using MMEureka.Sft;
using Spectre.Console;

namespace MMEureka.Cli.Commands;

/// <summary><c>mmeureka annotate</c>: MM-PRM's OmegaPRM-style step annotation of MiniK12 train problems.</summary>
internal static class AnnotateCommand
{
    public static Command Create()
    {
        var policy = new Option<string>("--policy") { Description = "Policy checkpoint folder (e.g. runs/sft-quick/checkpoint).", Required = true };
        var preset = new Option<string>("--preset") { Description = "tiny (CI), quick (a first PRM dataset) or full (MM-PRM's k and caps).", DefaultValueFactory = _ => "quick" };
        preset.AcceptOnlyFromAmong("tiny", "quick", "full");
        var data = new Option<string?>("--data") { Description = "MiniK12 folder (its train split is annotated). Default: data/generated/minik12[-tiny]." };
        var problems = new Option<int?>("--problems") { Description = "Annotate the first N train problems (0: all)." };
        var k = new Option<int?>("--k") { Description = "Rollouts per Monte Carlo estimate." };
        var budget = new Option<int?>("--rollout-budget") { Description = "Rollouts per problem after which no new search starts (root screen included)." };
        var searches = new Option<int?>("--max-searches") { Description = "Most binary searches per problem." };
        var output = new Option<string?>("--out") { Description = "Run folder. Default: runs/annotate-PRESET." };
        var resume = new Option<bool>("--resume") { Description = "Continue the annotation in --out (problems with a tree are skipped)." };
        var seed = new Option<long?>("--seed") { Description = "Seed of the rollouts." };
        var concurrency = new Option<int?>("--concurrency") { Description = "Problems searched side by side (their rollouts share sampling batches)." };
        var stopAfter = new Option<double?>("--stop-after") { Description = "Minutes after which no new problem starts; the ones under way finish, data and summary cover what is done (--resume continues)." };
        var compare = new Option<int>("--compare-stepwise") { Description = "Afterwards, label the first N searched wrong solutions step by step (Math-Shepherd) and compare rollouts per label; writes stepwise.json.", DefaultValueFactory = _ => 0 };
        var command = new Command("annotate", "Label solution steps with Monte Carlo values by OmegaPRM's tree search (MM-PRM); writes trees/, steps.jsonl, trl.jsonl and summary.json under --out.")
            { policy, preset, data, problems, k, budget, searches, output, resume, seed, concurrency, compare, stopAfter };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            string presetName = parse.GetValue(preset)!;
            var config = OmegaPrmConfig.ForPreset(presetName);
            if (parse.GetValue(problems) is { } n) config = config with { Problems = n };
            if (parse.GetValue(k) is { } kk) config = config with { K = kk };
            if (parse.GetValue(budget) is { } b) config = config with { RolloutBudget = b };
            if (parse.GetValue(searches) is { } s) config = config with { MaxSearches = s };
            if (parse.GetValue(seed) is { } sd) config = config with { Seed = sd };
            if (parse.GetValue(concurrency) is { } c) config = config with { Concurrency = c };
            config.Validate();
            if (parse.GetValue(compare) < 0) throw new ArgumentException("--compare-stepwise must be >= 0");
            if (parse.GetValue(stopAfter) is <= 0) throw new ArgumentException("--stop-after must be positive (minutes)");
            TimeSpan? limit = parse.GetValue(stopAfter) is { } minutes ? TimeSpan.FromMinutes(minutes) : null;
            string policyDir = parse.GetValue(policy)!;
            if (!File.Exists(Path.Combine(policyDir, MiniVlm.WeightsFile)))
                throw new ArgumentException($"--policy {policyDir} is not a checkpoint folder (no {MiniVlm.WeightsFile})");
            string dataDir = parse.GetValue(data) ?? SftData.DefaultDir(presetName);
            string runDir = parse.GetValue(output) ?? Path.Combine("runs", "annotate-" + presetName);

            // Decoding's products are skinny; the managed GEMM samples faster than OpenBLAS here (see SftCommand).
            if (Environment.GetEnvironmentVariable(Torch.Gemm.EnvironmentVariable) is null)
                Environment.SetEnvironmentVariable(Torch.Gemm.EnvironmentVariable, "managed");
            var model = MiniVlm.Load(policyDir, out var tokenizer);
            IReadOnlyList<Problem> train;
            try { train = MiniK12.Load(dataDir, Split.Train); }
            catch (MiniK12FormatException e) { throw new FormatException(e.Message, e); }
            if (config.Problems > 0) train = train.Take(config.Problems).ToList();
            var sampling = new SamplingConfig { Temperature = config.Temperature, TopK = config.TopK, TopP = config.TopP, MaxNewTokens = config.MaxNewTokens };
            var rollouts = new VlmRolloutPolicy(model, tokenizer, sampling, config.BatchRows);
            var source = new JsonObject { ["policy"] = Path.GetFullPath(policyDir), ["data"] = Path.GetFullPath(dataDir) };
            Console.WriteLine($"annotate {presetName}: {train.Count} train problems, k {config.K}, max searches {config.MaxSearches}, " +
                              $"rollout budget {config.RolloutBudget}, L {config.LengthScale:G4}, {config.Concurrency} problems side by side -> {Path.GetFullPath(runDir)}");
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var summary = Annotate(config, train, rollouts, runDir, parse.GetValue(resume), source, limit);
            Console.WriteLine(summary.Describe());
            Console.WriteLine($"{rollouts.Rollouts:N0} rollouts ({rollouts.TokensGenerated:N0} tokens) sampled in {clock.Elapsed.TotalMinutes:F1} min " +
                              $"= {rollouts.Rollouts / Math.Max(clock.Elapsed.TotalSeconds, 1e-9):F1} rollouts/s; load average {LoadAverage()}");
            if (parse.GetValue(compare) is > 0 and var solutions)
            {
                var comparison = StepwiseBaseline.Run(Annotator.ReadTrees(runDir), train.ToDictionary(p => p.Id), rollouts, config, solutions);
                Runs.RunFolder.WriteAtomically(Path.Combine(runDir, "stepwise.json"), comparison.ToJson().ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
                Console.WriteLine(comparison.Describe());
            }
            return 0;
        }));
        return command;
    }

    private static AnnotationSummary Annotate(OmegaPrmConfig config, IReadOnlyList<Problem> problems, IRolloutPolicy policy, string runDir, bool resume, JsonObject source, TimeSpan? limit)
    {
        string Line(AnnotateProgress p) =>
            $"{p.ProblemsDone}/{p.ProblemsTotal} problems ({p.Kept} kept), {p.Rollouts:N0} rollouts, {p.Labels:N0} step labels, " +
            $"{p.RolloutsPerSecond:F1} rollouts/s, elapsed {p.Elapsed:hh\\:mm\\:ss} eta {p.Eta:hh\\:mm\\:ss}";
        if (Plain())
        {
            var lastPrint = DateTime.MinValue;
            return Annotator.Run(config, problems, policy, runDir, resume, source, p =>
            {
                if (p.ProblemsDone != p.ProblemsTotal && (DateTime.UtcNow - lastPrint).TotalSeconds < 10) return;
                lastPrint = DateTime.UtcNow;
                Console.WriteLine(Line(p));
            }, limit);
        }
        AnnotationSummary result = null!;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("annotate", maxValue: problems.Count);
                result = Annotator.Run(config, problems, policy, runDir, resume, source, p =>
                {
                    task.Value = p.ProblemsDone;
                    task.Description = Markup.Escape(Line(p));
                }, limit);
            });
        return result;
    }

    private static string LoadAverage()
    {
        try { return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
        catch (IOException) { return "unknown"; }
        catch (UnauthorizedAccessException) { return "unknown"; }
    }

    private static bool Plain() => Console.IsOutputRedirected || Environment.GetEnvironmentVariable("CI") is { Length: > 0 };
}
