using System.CommandLine;
using System.Text.Json;
using MMEureka.Cli.Bench;
using MMEureka.Torch;
using Spectre.Console;

namespace MMEureka.Cli.Commands;

/// <summary><c>mmeureka bench engine [--json] [--quick]</c>: GEMM per backend, a GPT training step, KV-cached
/// sampling and the training's peak working set (bench/README.md; bench/compare.sh puts PyTorch next to it).</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print one JSON object (what bench/compare.sh reads) instead of a table." };
        var quick = new Option<bool>("--quick") { Description = "Fewer repeats: noisier, about half the time." };
        var profile = new Option<bool>("--profile") { Description = "Instead of the benchmark, print per-op times of one training step and of one sampling call (batch 64)." };
        var engine = new Command("engine", "Time the tensor engine: GEMM GFLOP/s, GPT training step, sampling tok/s, peak memory.");
        engine.Options.Add(json);
        engine.Options.Add(quick);
        engine.Options.Add(profile);
        engine.SetAction(parse =>
        {
            bool asJson = parse.GetValue(json);
            // Progress goes to stderr so that stdout stays one JSON object under --json.
            Action<string> log = asJson ? line => Console.Error.WriteLine(line) : line => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(line)}[/]");
            log($"gemm backend: {Gemm.Describe()}");
            if (parse.GetValue(profile))
            {
                Console.WriteLine(EngineBenchmark.Profile());
                return 0;
            }
            var result = EngineBenchmark.Run(parse.GetValue(quick), log);
            if (asJson) Console.WriteLine(ToJson(result));
            else AnsiConsole.Write(ToTable(result));
            return 0;
        });
        var bench = new Command("bench", "Benchmarks.");
        bench.Subcommands.Add(engine);
        return bench;
    }

    /// <summary>{"gemm":[{"n":..,"backend":..,"gflops":..}],"train_step_ms":..,"generate_tok_s":{"8":..},"peak_rss_mb":..,"blas":..}</summary>
    internal static string ToJson(EngineBenchResult r)
    {
        var obj = new Dictionary<string, object>
        {
            ["gemm"] = r.Gemm.Select(g => new Dictionary<string, object> { ["n"] = g.N, ["backend"] = g.Backend, ["gflops"] = Math.Round(g.GFlops, 2) }).ToList(),
            ["train_step_ms"] = Math.Round(r.TrainStepMs, 2),
            ["generate_tok_s"] = r.GenerateTokS.ToDictionary(kv => kv.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), kv => Math.Round(kv.Value, 1)),
            ["peak_rss_mb"] = Math.Round(r.PeakRssMb, 1),
            ["blas"] = r.Blas,
        };
        return JsonSerializer.Serialize(obj);
    }

    static Table ToTable(EngineBenchResult r)
    {
        var table = new Table().AddColumn("item").AddColumn(new TableColumn("value").RightAligned()).AddColumn("unit");
        foreach (var g in r.Gemm) table.AddRow($"gemm n={g.N} {g.Backend}", $"{g.GFlops:F2}", "GFLOP/s");
        table.AddRow("train step", $"{r.TrainStepMs:F1}", "ms");
        foreach (var (b, v) in r.GenerateTokS) table.AddRow($"sampling batch {b}", $"{v:F0}", "tok/s");
        table.AddRow("train peak working set", $"{r.PeakRssMb:F0}", "MB");
        return table;
    }
}
