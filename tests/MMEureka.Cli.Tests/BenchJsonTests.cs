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
            400, "openblas", [new VlmSamplingTiming(8, 7000.25, 91.5, 5), new VlmSamplingTiming(64, 16000.75, 88.25, 3)], "runs/x/checkpoint",
            16.5312, new Dictionary<int, double> { [1] = 91.94, [2] = 183.26 });
        using var doc = JsonDocument.Parse(BenchCommand.ToJson(result));
        var root = doc.RootElement;
        Assert.Equal(7000.2, root.GetProperty("vlm_generate_tok_s").GetProperty("8").GetDouble(), 6);
        Assert.Equal(16000.8, root.GetProperty("vlm_generate_tok_s").GetProperty("64").GetDouble(), 6);
        Assert.Equal(88.2, root.GetProperty("vlm_tokens_per_row").GetProperty("64").GetDouble(), 6);
        Assert.Equal("runs/x/checkpoint", root.GetProperty("vlm_model").GetString());
        Assert.Equal(25000, root.GetProperty("generate_tok_s").GetProperty("64").GetDouble());
        Assert.Equal(16.531, root.GetProperty("train_step_gflop").GetDouble(), 6);
        Assert.Equal(183.3, root.GetProperty("fma_peak_gflops").GetProperty("2").GetDouble(), 6);
    }

    /// <summary>The benchmark GPT's step: per layer 2 * 3072 * 12 * 128^2 for the linear layers and 4 * 32 * 96^2 * 128
    /// for attention's two products, 4 layers, the head 2 * 3072 * 128 * 96, times 3 for the backward.</summary>
    [Fact]
    public void Train_step_flops_count_the_products_of_forward_and_backward()
    {
        double perLayer = 2.0 * 3072 * 12 * 128 * 128 + 4.0 * 32 * 96 * 96 * 128;
        Assert.Equal(3 * (4 * perLayer + 2.0 * 3072 * 128 * 96), new BenchGptConfig().TrainStepFlops(32));
        Assert.Equal(16_533_946_368.0, new BenchGptConfig().TrainStepFlops(32));
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
