using System.CommandLine;
using MMEureka.Data;
using Spectre.Console;

namespace MMEureka.Cli.Commands;

/// <summary><c>mmeureka data generate|baseline</c>: write a MiniK12 dataset; measure the text-only baseline.</summary>
internal static class DataCommand
{
    public static Command Create()
    {
        var command = new Command("data", "MiniK12: generate the dataset, check how much the question text alone gives away.");
        command.Subcommands.Add(Generate());
        command.Subcommands.Add(Baseline());
        return command;
    }

    static Command Generate()
    {
        var defaults = new MiniK12Config();
        var outDir = new Option<string>("--out") { Description = "Output folder (written as a temp folder, then renamed).", Required = true };
        var seed = new Option<ulong>("--seed") { Description = "Random seed.", DefaultValueFactory = _ => defaults.Seed };
        var train = new Option<int>("--train") { Description = "Train problems.", DefaultValueFactory = _ => defaults.Train };
        var test = new Option<int>("--test") { Description = "Test problems (half multiple choice).", DefaultValueFactory = _ => defaults.Test };
        var ood = new Option<int>("--ood") { Description = "OOD problems (numbers outside the train ranges).", DefaultValueFactory = _ => defaults.Ood };
        var force = new Option<bool>("--force") { Description = "Replace an existing output folder." };
        var command = new Command("generate", "Write train.jsonl, test.jsonl, ood.jsonl, images/ and dataset.json.") { outDir, seed, train, test, ood, force };
        command.SetAction(parse =>
        {
            var config = new MiniK12Config(parse.GetValue(seed), parse.GetValue(train), parse.GetValue(test), parse.GetValue(ood));
            if (config.Train < 0 || config.Test < 0 || config.Ood < 0)
            {
                Console.Error.WriteLine("error: --train, --test and --ood must not be negative");
                return 1;
            }
            string dir = parse.GetValue(outDir)!;
            try
            {
                GenerationReport report;
                if (Plain())
                {
                    report = MiniK12Generator.Write(dir, config, parse.GetValue(force), (split, done, total) =>
                    {
                        if (done == total) Console.WriteLine($"{MiniK12Generator.SplitName(split)}: {done}/{total}");
                    });
                }
                else
                {
                    report = null!;
                    AnsiConsole.Progress().Start(ctx =>
                    {
                        var tasks = Enum.GetValues<Split>().ToDictionary(s => s, s => ctx.AddTask(MiniK12Generator.SplitName(s), maxValue: Math.Max(1, config.Count(s))));
                        report = MiniK12Generator.Write(dir, config, parse.GetValue(force), (split, done, _) => tasks[split].Value = done);
                        foreach (var t in tasks.Values) t.Value = t.MaxValue;
                    });
                }
                Console.WriteLine($"wrote {report.Train} train, {report.Test} test, {report.Ood} ood problems to {report.Directory} " +
                                  $"in {report.Seconds:F2} s ({report.ProblemsPerSecond:F0} problems/s; {report.Redrawn} test/ood redraws to avoid train duplicates)");
                return 0;
            }
            catch (IOException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
            catch (AggregateException e) when (e.Flatten().InnerExceptions.All(x => x is InvalidOperationException))
            {
                // Parallel generation fails per problem; one line names the first and counts the rest. Nothing was
                // written: the temporary folder is removed.
                var all = e.Flatten().InnerExceptions;
                Console.Error.WriteLine($"error: {all[0].Message}{(all.Count > 1 ? $" (and {all.Count - 1} more)" : "")}; " +
                                        "a family has too few distinct problems for this many --train problems to keep test and OOD apart from train");
                return 1;
            }
        });
        return command;
    }

    static Command Baseline()
    {
        var dir = new Option<string>("--dir") { Description = "A generated MiniK12 folder.", Required = true };
        var split = new Option<string>("--split") { Description = "Split to score on: test or ood.", DefaultValueFactory = _ => "test" };
        var command = new Command("baseline", "Text-only baseline: majority answer per question text (fitted on train) vs the family prior.") { dir, split };
        command.SetAction(parse =>
        {
            try
            {
                string d = parse.GetValue(dir)!;
                var target = parse.GetValue(split) == "ood" ? Split.Ood : Split.Test;
                var report = TextOnlyBaseline.Evaluate(MiniK12.Load(d, Split.Train, loadImages: false), MiniK12.Load(d, target, loadImages: false));
                Console.WriteLine(report.ToMarkdown());
                return 0;
            }
            catch (Exception e) when (e is MiniK12FormatException or IOException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
        });
        return command;
    }

    static bool Plain() => Console.IsOutputRedirected || Environment.GetEnvironmentVariable("CI") is { Length: > 0 };
}
