using System.Text.Json;
using MMEureka.Cli.Bench;
using MMEureka.Cli.Commands;
using MMEureka.Torch.Blas;

namespace MMEureka.Cli.Tests;

/// <summary>The keys bench/compare_report.py reads from <c>mmeureka bench engine --json</c>.</summary>
public sealed class BenchJsonTests
{
    [Fact]
    public void Json_carries_the_MiniVlm_sampling_rows_by_batch()
    {
        var result = new EngineBenchResult([new GemmTiming("managed", 128, 0.0004, 10.5, 7, 1)], 120.0, new Dictionary<int, double> { [8] = 9000, [64] = 25000 },
            400, "openblas", [new VlmSamplingTiming(8, 7000.25, 91.5, 5), new VlmSamplingTiming(64, 16000.75, 88.25, 3)], "runs/x/checkpoint");
        using var doc = JsonDocument.Parse(BenchCommand.ToJson(result));
        var root = doc.RootElement;
        Assert.Equal(7000.2, root.GetProperty("vlm_generate_tok_s").GetProperty("8").GetDouble(), 6);
        Assert.Equal(16000.8, root.GetProperty("vlm_generate_tok_s").GetProperty("64").GetDouble(), 6);
        Assert.Equal(88.2, root.GetProperty("vlm_tokens_per_row").GetProperty("64").GetDouble(), 6);
        Assert.Equal("runs/x/checkpoint", root.GetProperty("vlm_model").GetString());
        Assert.Equal(25000, root.GetProperty("generate_tok_s").GetProperty("64").GetDouble());
    }

    [Fact]
    public void Workload_images_follow_the_formula_torch_reference_uses()
    {
        var c = new MMEureka.Models.MiniVlmConfig();
        var image = VlmSamplingBenchmark.Image(c, 3);
        Assert.Equal(3 * 48 * 48, image.Length);
        Assert.Equal((3 * 31 % 251) / 250f, image[0]);
        Assert.Equal(((1000 * 7 + 3 * 31) % 251) / 250f, image[1000]);
        Assert.Equal([1, .. new MMEureka.Models.Tokenizer().Encode("What is 3 + 3?\n")], VlmSamplingBenchmark.Prompt(new MMEureka.Models.Tokenizer(), 3));
    }
}
