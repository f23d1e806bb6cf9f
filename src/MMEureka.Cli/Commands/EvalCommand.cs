using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using MMEureka.Data;
using MMEureka.Eval;
using MMEureka.Models;
using MMEureka.Sft;

namespace MMEureka.Cli.Commands;

/// <summary><c>mmeureka eval</c>: accuracy, format rate, pass@K and per-family accuracy of a checkpoint.</summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "Checkpoint folder (e.g. runs/sft-quick/checkpoint).", Required = true };
        var data = new Option<string>("--data") { Description = "MiniK12 folder.", DefaultValueFactory = _ => SftData.DefaultDir("quick") };
        var split = new Option<string>("--split") { Description = "test or ood.", DefaultValueFactory = _ => "test" };
        split.AcceptOnlyFromAmong("test", "ood");
        var samples = new Option<int>("--samples") { Description = "Responses per problem (K of pass@K).", DefaultValueFactory = _ => 1 };
        var temperature = new Option<float?>("--temperature") { Description = "Sampling temperature (default: 0 = greedy for one sample, 1 for several)." };
        var limit = new Option<int?>("--limit") { Description = "Evaluate only the first N problems." };
        var blank = new Option<bool>("--blank-images") { Description = "Replace every image by a blank page (does the image matter?)." };
        var seed = new Option<long>("--seed") { Description = "Seed of the samples.", DefaultValueFactory = _ => 0 };
        var batch = new Option<int>("--batch-size") { Description = "Rows sampled together.", DefaultValueFactory = _ => 64 };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON." };
        var samplesOut = new Option<string?>("--samples-out") { Description = "Write every response with its scores to this JSONL file." };
        var device = new Option<string>("--device") { Description = "cpu (the engine) or cuda / cuda:N (the TorchSharp twin's executable; README, TorchSharp).", DefaultValueFactory = _ => "cpu" };
        var command = new Command("eval", "Evaluate a policy checkpoint on a MiniK12 split with the rule rewards.")
            { checkpoint, data, split, samples, temperature, limit, blank, seed, batch, json, samplesOut, device };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            if (parse.GetValue(device) is { } dev && dev != "cpu")
            {
                if (parse.GetValue(samplesOut) != null) throw new ArgumentException("--samples-out is not supported with --device (the twin prints the report only)");
                return MMEureka.Interop.TorchSharpTwin.RunAttached([
                    "eval", "--device", dev, "--checkpoint", Path.GetFullPath(parse.GetValue(checkpoint)!), "--data", Path.GetFullPath(parse.GetValue(data)!),
                    "--split", parse.GetValue(split)!, "--samples", parse.GetValue(samples).ToString(), "--seed", parse.GetValue(seed).ToString(),
                    "--batch-size", parse.GetValue(batch).ToString(),
                    .. parse.GetValue(temperature) is { } t ? new[] { "--temperature", t.ToString(System.Globalization.CultureInfo.InvariantCulture) } : [],
                    .. parse.GetValue(limit) is { } lim ? new[] { "--limit", lim.ToString() } : [],
                    .. parse.GetValue(blank) ? new[] { "--blank-images" } : [],
                    .. parse.GetValue(json) ? new[] { "--json" } : []]);
            }
            int k = parse.GetValue(samples);
            var config = new EvalConfig
            {
                Samples = k,
                Temperature = parse.GetValue(temperature) ?? (k > 1 ? 1f : 0f),
                BlankImages = parse.GetValue(blank),
                Seed = parse.GetValue(seed),
                BatchSize = parse.GetValue(batch),
            }.Validate();
            if (parse.GetValue(limit) is <= 0) throw new ArgumentException("--limit must be positive");
            var model = MiniVlm.Load(parse.GetValue(checkpoint)!, out var tokenizer);
            var which = parse.GetValue(split) == "ood" ? Split.Ood : Split.Test;
            IReadOnlyList<Problem> problems = MiniK12.Load(parse.GetValue(data)!, which);
            if (parse.GetValue(limit) is { } n) problems = problems.Take(n).ToList();

            var clock = System.Diagnostics.Stopwatch.StartNew();
            var report = Evaluator.Run(model, tokenizer, problems, config);
            if (parse.GetValue(samplesOut) is { } path) WriteSamples(path, report);
            if (parse.GetValue(json)) Console.WriteLine(ToJson(report).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            else
            {
                string mode = config.Temperature <= 0 ? "greedy" : $"{k} samples at temperature {config.Temperature:G3}";
                Console.WriteLine($"{parse.GetValue(split)}: {problems.Count} problems, {mode}{(config.BlankImages ? ", blank images" : "")}, {clock.Elapsed.TotalSeconds:F1} s");
                Console.WriteLine($"accuracy     {report.Accuracy:P1}");
                Console.WriteLine($"format rate  {report.FormatRate:P1}");
                Console.WriteLine($"truncated    {report.TruncatedRate:P1}");
                if (k > 1) Console.WriteLine($"pass@{k,-7} {report.PassAtK:P1}");
                foreach (var (family, acc) in report.AccuracyByFamily) Console.WriteLine($"  {family,-16} {acc:P1}");
            }
            return 0;
        }));
        return command;
    }

    /// <summary>The report's numbers as a JSON object (no responses).</summary>
    public static JsonObject ToJson(EvalReport report)
    {
        var passAt = new JsonObject();
        for (int i = 0; i < report.PassAt.Count; i++) passAt[(i + 1).ToString()] = report.PassAt[i];
        var families = new JsonObject();
        foreach (var (f, a) in report.AccuracyByFamily) families[f] = a;
        return new JsonObject
        {
            ["problems"] = report.Problems.Count, ["samples"] = report.Config.Samples, ["temperature"] = report.Config.Temperature,
            ["blank_images"] = report.Config.BlankImages, ["accuracy"] = report.Accuracy, ["format_rate"] = report.FormatRate,
            ["truncated_rate"] = report.TruncatedRate, ["pass_at"] = passAt, ["accuracy_by_family"] = families,
        };
    }

    /// <summary>Writes <see cref="ToJson"/> atomically.</summary>
    public static void WriteReport(string path, EvalReport report) =>
        CliErrors.WriteAtomically(path, ToJson(report).ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");

    /// <summary>One JSON line per (problem, response): id, family, gold answer, response, correct, formatted.</summary>
    public static void WriteSamples(string path, EvalReport report)
    {
        var sb = new System.Text.StringBuilder();
        foreach (var p in report.Problems)
            for (int i = 0; i < p.Responses.Count; i++)
                sb.Append(new JsonObject
                {
                    ["id"] = p.Problem.Id, ["family"] = p.Problem.Family, ["question"] = p.Problem.Question, ["answer"] = p.Problem.Answer,
                    ["response"] = p.Responses[i], ["correct"] = p.Correct[i], ["formatted"] = p.Formatted[i],
                }.ToJsonString()).Append('\n');
        CliErrors.WriteAtomically(path, sb.ToString());
    }
}
