using System.CommandLine;
using System.Text.Json;
using MMEureka.Data;
using MMEureka.Eval;
using MMEureka.Models;
using MMEureka.Sft;

namespace MMEureka.Twin;

/// <summary>The twin's verbs besides status and parity: roundtrip, bench, eval.</summary>
internal static class TwinCommands
{
    /// <summary><c>roundtrip --checkpoint DIR --out DIR</c>: load with the twin, save back, reload with the engine.</summary>
    public static Command Roundtrip()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "Checkpoint folder to load with the twin.", Required = true };
        var output = new Option<string>("--out") { Description = "Folder to save the twin's checkpoint to.", Required = true };
        var command = new Command("roundtrip", "Load a checkpoint into the twin, save it back, and check that the engine reads the same tensors.") { checkpoint, output };
        command.SetAction(parse => Program.Run(() =>
        {
            string src = parse.GetValue(checkpoint)!, dst = parse.GetValue(output)!;
            using var twin = TwinCheckpoint.Load(src, out var tokenizer);
            TwinCheckpoint.Save(twin, dst, tokenizer);
            var a = MiniVlm.Load(src).named_parameters().ToList();
            var b = MiniVlm.Load(dst).named_parameters().ToDictionary(x => x.name, x => x.parameter);
            int same = a.Count(x => b.TryGetValue(x.name, out var t) && x.parameter.data<float>().AsSpan().SequenceEqual(t.data<float>()));
            Console.WriteLine($"{dst}: {same} of {a.Count} tensors bit-identical to {src}");
            return same == a.Count && b.Count == a.Count ? 0 : 1;
        }));
        return command;
    }

    /// <summary><c>bench [--threads 1,2] [--checkpoint DIR] [--quick] [--json]</c>: libtorch's column of the speed comparison.</summary>
    public static Command Bench()
    {
        var threads = new Option<string>("--threads") { Description = "libtorch thread counts, comma-separated.", DefaultValueFactory = _ => "1,2" };
        var checkpoint = new Option<string?>("--checkpoint") { Description = "Policy to sample (default: a freshly initialised default MiniVlm)." };
        var quick = new Option<bool>("--quick") { Description = "Fewer repeats (noisier)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object (bench/compare.sh reads it)." };
        var command = new Command("bench", "libtorch as speed peer: benchmark GPT train step and KV-cache sampling (batch 8, 64), MiniVlm sampling, per thread count.")
            { threads, checkpoint, quick, json };
        command.SetAction(parse => Program.Run(() =>
        {
            var counts = parse.GetValue(threads)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(t => int.TryParse(t, out var n) && n > 0 ? n : throw new ArgumentException($"--threads: '{t}' is not a positive thread count")).ToList();
            bool asJson = parse.GetValue(json);
            var result = TwinBench.Run(counts, parse.GetValue(checkpoint), parse.GetValue(quick), line => (asJson ? Console.Error : Console.Out).WriteLine(line));
            if (asJson) Console.WriteLine(JsonSerializer.Serialize(result, Program.Json));
            else Console.WriteLine($"{result.LibTorch}; load average {result.LoadAverage1m:F2} at start");
            return 0;
        }));
        return command;
    }

    /// <summary><c>eval --checkpoint DIR --device cuda ...</c>: <c>mmeureka eval</c> with the twin generating the responses.</summary>
    public static Command Eval()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "Checkpoint folder.", Required = true };
        var device = new Option<string>("--device") { Description = "cpu, cuda or cuda:N (CUDA needs the CUDA build: README, TorchSharp).", DefaultValueFactory = _ => "cpu" };
        var data = new Option<string>("--data") { Description = "MiniK12 folder.", DefaultValueFactory = _ => SftData.DefaultDir("quick") };
        var split = new Option<string>("--split") { Description = "test or ood.", DefaultValueFactory = _ => "test" };
        split.AcceptOnlyFromAmong("test", "ood");
        var samples = new Option<int>("--samples") { Description = "Responses per problem (K of pass@K).", DefaultValueFactory = _ => 1 };
        var temperature = new Option<float?>("--temperature") { Description = "Sampling temperature (default: 0 = greedy for one sample, 1 for several)." };
        var limit = new Option<int?>("--limit") { Description = "Evaluate only the first N problems." };
        var blank = new Option<bool>("--blank-images") { Description = "Replace every image by a blank page." };
        var seed = new Option<long>("--seed") { Description = "Seed of the samples.", DefaultValueFactory = _ => 0 };
        var batch = new Option<int>("--batch-size") { Description = "Rows sampled together.", DefaultValueFactory = _ => 64 };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON." };
        // One thread by default on the CPU: decoding this model is hundreds of small ops per token, and libtorch's
        // OpenMP threads spin while they wait; on 2 busy cores 32 greedy problems took 77.8 s at 2 threads, 7.7 s at 1.
        var threads = new Option<int>("--threads") { Description = "libtorch CPU threads.", DefaultValueFactory = _ => 1 };
        var command = new Command("eval", "Evaluate a checkpoint on a MiniK12 split, sampling with the TorchSharp twin on --device.")
            { checkpoint, device, data, split, samples, temperature, limit, blank, seed, batch, json, threads };
        command.SetAction(parse => Program.Run(() =>
        {
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
            var dev = LibTorch.Device(parse.GetValue(device)!);
            if (parse.GetValue(threads) < 1) throw new ArgumentException("--threads must be positive");
            TorchSharp.torch.set_num_threads(parse.GetValue(threads));
            using var model = TwinCheckpoint.Load(parse.GetValue(checkpoint)!, out var tokenizer, dev);
            IReadOnlyList<Problem> problems = MiniK12.Load(parse.GetValue(data)!, parse.GetValue(split) == "ood" ? Split.Ood : Split.Test);
            if (parse.GetValue(limit) is { } n) problems = problems.Take(n).ToList();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var report = Evaluator.Run((px, pr, sc, seeds) => TwinSampler.Sample(model, tokenizer, px, pr, sc, seeds), problems, tokenizer, config);
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    device = dev.ToString(), problems = problems.Count, samples = k, temperature = config.Temperature,
                    accuracy = report.Accuracy, format_rate = report.FormatRate, truncated_rate = report.TruncatedRate,
                    pass_at = report.PassAt, accuracy_by_family = report.AccuracyByFamily,
                }, Program.Json));
                return 0;
            }
            string mode = config.Temperature <= 0 ? "greedy" : $"{k} samples at temperature {config.Temperature:G3}";
            Console.WriteLine($"{parse.GetValue(split)}: {problems.Count} problems, {mode}{(config.BlankImages ? ", blank images" : "")}, TorchSharp twin on {dev}, {clock.Elapsed.TotalSeconds:F1} s");
            Console.WriteLine($"accuracy     {report.Accuracy:P1}");
            Console.WriteLine($"format rate  {report.FormatRate:P1}");
            Console.WriteLine($"truncated    {report.TruncatedRate:P1}");
            if (k > 1) Console.WriteLine($"pass@{k,-7} {report.PassAtK:P1}");
            foreach (var (family, acc) in report.AccuracyByFamily) Console.WriteLine($"  {family,-16} {acc:P1}");
            return 0;
        }));
        return command;
    }
}
