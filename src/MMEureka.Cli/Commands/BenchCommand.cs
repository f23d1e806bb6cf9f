using System.CommandLine;
using System.Text.Json;
using MMEureka.Cli.Bench;
using MMEureka.Torch;
using Spectre.Console;

namespace MMEureka.Cli.Commands;

/// <summary><c>mmeureka bench engine [--json] [--quick] [--profile] [--checkpoint DIR]</c>: GEMM per backend, a GPT
/// training step, KV-cached sampling of the GPT and of MiniVlm, and the training's peak working set (bench/README.md;
/// bench/compare.sh puts PyTorch next to it).</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print one JSON object (what bench/compare.sh reads) instead of a table." };
        var quick = new Option<bool>("--quick") { Description = "Fewer repeats: noisier, about half the time." };
        var profile = new Option<bool>("--profile") { Description = "Instead of the benchmark, print per-op times of training steps and of one sampling call (batch 64) of the GPT and of MiniVlm." };
        var checkpoint = new Option<string?>("--checkpoint") { Description = "MiniVlm checkpoint folder to sample from; without it, the quick shape initialised from seed 0 (what 'model init --preset quick' writes)." };
        var engine = new Command("engine", "Time the tensor engine: GEMM GFLOP/s, GPT training step, sampling tok/s, peak memory.");
        engine.Options.Add(json);
        engine.Options.Add(quick);
        engine.Options.Add(profile);
        engine.Options.Add(checkpoint);
        engine.SetAction(parse =>
        {
            bool asJson = parse.GetValue(json);
            // Progress goes to stderr so that stdout stays one JSON object under --json.
            Action<string> log = asJson ? line => Console.Error.WriteLine(line) : line => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(line)}[/]");
            log($"gemm backend: {Gemm.Describe()}");
            var path = parse.GetValue(checkpoint);
            if (path != null && !File.Exists(Path.Combine(path, "model.safetensors")))
            {
                Console.Error.WriteLine($"error: --checkpoint {path}: no model.safetensors there (a checkpoint folder holds model.safetensors, config.json, tokenizer.json)");
                return 2;
            }
            if (parse.GetValue(profile))
            {
                Console.WriteLine(EngineBenchmark.Profile(checkpoint: path));
                return 0;
            }
            var result = EngineBenchmark.Run(parse.GetValue(quick), log, path);
            if (asJson) Console.WriteLine(ToJson(result));
            else AnsiConsole.Write(ToTable(result));
            return 0;
        });
        var bench = new Command("bench", "Benchmarks.");
        bench.Subcommands.Add(engine);
        return bench;
    }

    /// <summary>{"gemm":[{"n":..,"backend":..,"gflops":..}],"train_step_ms":..,"generate_tok_s":{"8":..},"peak_rss_mb":..,"blas":..,
    /// "vlm_generate_tok_s":{"8":..,"64":..},"vlm_tokens_per_row":{..},"vlm_model":..,"train_step_gflop":..,
    /// "fma_peak_gflops":{"1":..,"2":..}}</summary>
    internal static string ToJson(EngineBenchResult r)
    {
        var obj = new Dictionary<string, object>
        {
            ["gemm"] = r.Gemm.Select(g => new Dictionary<string, object> { ["n"] = g.N, ["backend"] = g.Backend, ["gflops"] = Math.Round(g.GFlops, 2) }).ToList(),
            ["train_step_ms"] = Math.Round(r.TrainStepMs, 2),
            ["generate_tok_s"] = r.GenerateTokS.ToDictionary(kv => kv.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), kv => Math.Round(kv.Value, 1)),
            ["peak_rss_mb"] = Math.Round(r.PeakRssMb, 1),
            ["blas"] = r.Blas,
            ["vlm_generate_tok_s"] = r.VlmSampling.ToDictionary(t => t.Batch.ToString(System.Globalization.CultureInfo.InvariantCulture), t => Math.Round(t.TokensPerSecond, 1)),
            ["vlm_tokens_per_row"] = r.VlmSampling.ToDictionary(t => t.Batch.ToString(System.Globalization.CultureInfo.InvariantCulture), t => Math.Round(t.TokensPerRow, 1)),
            ["vlm_model"] = r.VlmModel,
            ["train_step_gflop"] = Math.Round(r.TrainStepGflop, 3),
            ["fma_peak_gflops"] = (r.FmaPeakGflops ?? new Dictionary<int, double>()).ToDictionary(
                kv => kv.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), kv => Math.Round(kv.Value, 1)),
        };
        return JsonSerializer.Serialize(obj);
    }

    static Table ToTable(EngineBenchResult r)
    {
        var table = new Table().AddColumn("item").AddColumn(new TableColumn("value").RightAligned()).AddColumn("unit");
        foreach (var g in r.Gemm) table.AddRow($"gemm n={g.N} {g.Backend}", $"{g.GFlops:F2}", "GFLOP/s");
        table.AddRow("train step", $"{r.TrainStepMs:F1}", "ms");
        if (r.TrainStepGflop > 0 && r.TrainStepMs > 0)
        {
            double rate = r.TrainStepGflop / (r.TrainStepMs / 1e3);
            double? peak = r.FmaPeakGflops is { Count: > 0 } p ? p[p.Keys.Max()] : null;
            table.AddRow("train step rate", $"{rate:F1}", peak is > 0 ? $"GFLOP/s ({100 * rate / peak:F0}% of the FMA peak)" : "GFLOP/s");
        }
        foreach (var (t, v) in r.FmaPeakGflops ?? new Dictionary<int, double>()) table.AddRow($"FMA peak, {t} thread(s)", $"{v:F1}", "GFLOP/s");
        foreach (var (b, v) in r.GenerateTokS) table.AddRow($"sampling batch {b}", $"{v:F0}", "tok/s");
        foreach (var t in r.VlmSampling) table.AddRow($"MiniVlm sampling batch {t.Batch}", $"{t.TokensPerSecond:F0}", $"tok/s ({t.TokensPerRow:F1} tokens per row)");
        table.AddRow("train peak working set", $"{r.PeakRssMb:F0}", "MB");
        return table;
    }
}
