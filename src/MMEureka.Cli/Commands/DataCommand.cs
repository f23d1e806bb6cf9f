using System.CommandLine;
using MMEureka.Data;
using Spectre.Console;

namespace MMEureka.Cli.Commands;

/// <summary><c>mmeureka data generate|baseline|export</c>: write a MiniK12 dataset; measure the text-only baseline;
/// export it for OpenRLHF (MM-EUREKA) or verl.</summary>
internal static class DataCommand
{
    public static Command Create()
    {
        var command = new Command("data", "MiniK12: generate the dataset, check how much the question text alone gives away, export it for distributed RL engines.");
        command.Subcommands.Add(Generate());
        command.Subcommands.Add(Baseline());
        command.Subcommands.Add(Export());
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

    static Command Export()
    {
        var format = new Option<string>("--format") { Description = "openrlhf (MM-EUREKA's OpenRLHF fork: SPLIT.jsonl + images/) or verl (SPLIT.parquet, images inside).", Required = true };
        format.AcceptOnlyFromAmong("openrlhf", "verl");
        var dir = new Option<string>("--dir") { Description = "A generated MiniK12 folder.", Required = true };
        var outDir = new Option<string>("--out") { Description = "Output folder (written as a temp folder, then renamed).", Required = true };
        var splits = new Option<string>("--splits") { Description = "Comma-separated splits to export.", DefaultValueFactory = _ => "train,test,ood" };
        var imageRoot = new Option<string?>("--image-root") { Description = "openrlhf: the folder the export will sit in on the training machine (messages point at file://ROOT/images/ID.png); default the absolute --out." };
        var system = new Option<string?>("--system-prompt") { Description = "A system message put before the user's in every chat (default none: the question alone, as the policy reads it)." };
        var force = new Option<bool>("--force") { Description = "Replace an existing output folder." };
        var command = new Command("export", "Write MiniK12 for OpenRLHF (MM-EUREKA's jsonl) or verl (geo3k-style parquet).") { format, dir, outDir, splits, imageRoot, system, force };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var f = DatasetExport.ParseFormat(parse.GetValue(format)!);
            var which = DatasetExport.ParseSplits(parse.GetValue(splits)!);
            ExportReport report;
            try
            {
                report = DatasetExport.Write(parse.GetValue(dir)!, parse.GetValue(outDir)!, f, which, parse.GetValue(force),
                                             parse.GetValue(imageRoot), parse.GetValue(system));
            }
            catch (MiniK12FormatException e) { throw new InvalidDataException(e.Message, e); }
            string counts = string.Join(", ", report.Splits.Select(s => $"{s.Count} {MiniK12Generator.SplitName(s.Split)}"));
            string files = string.Join(", ", report.Splits.Select(s => s.File));
            string images = f == ExportFormat.OpenRlhf ? $" + {report.Images} images/*.png" : $"; {report.Images} PNG images inside";
            Console.WriteLine($"exported {counts} problems as {parse.GetValue(format)} to {report.Directory} ({files}{images}) in {report.Seconds:F2} s");
            return 0;
        }));
        return command;
    }

    static bool Plain() => Console.IsOutputRedirected || Environment.GetEnvironmentVariable("CI") is { Length: > 0 };
}
