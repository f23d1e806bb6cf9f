using MMEureka.Models;
using MMEureka.Twin;
using static TorchSharp.torch;

namespace MMEureka.TorchSharp.Tests;

/// <summary>The engine and the twin on the same checkpoint, in one process: logits, SFT loss, every gradient.</summary>
public class ParityTests
{
    [SkippableTheory]
    [InlineData("tiny", 3)]
    [InlineData("quick", 5)]
    public void Logits_loss_and_gradients_agree_within_1e4(string preset, long seed)
    {
        Twin.RequireLibTorch();
        var config = preset == "tiny" ? Twin.Tiny : MiniVlmConfig.ForPreset(preset);
        var dir = Twin.Checkpoint(config, seed, "parity");
        try
        {
            var report = VlmParity.Run(dir, seed);
            Console.WriteLine(report);
            Assert.True(report.LogitsMaxDiff < 1e-4, $"logits differ by {report.LogitsMaxDiff:E2}");
            Assert.True(report.GradMaxDiff < 1e-4, $"gradients differ by {report.GradMaxDiff:E2} ({report.GradWorstTensor})");
            Assert.Equal(report.LossEngine, report.LossTwin, 4);
            // The comparison means something: non-trivial logits and gradients in every tensor of the model.
            Assert.True(report.LogitsMaxAbs > 0.5, $"logits too small to compare ({report.LogitsMaxAbs})");
            Assert.True(report.GradMaxAbs > 1e-3);
            Assert.Equal(new MiniVlm(config).named_parameters().Count(), report.GradTensors);
            Assert.True(report.Passed);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [SkippableFact]
    public void A_perturbed_weight_is_caught()
    {
        // Parity must fail when one tensor differs by a little: noise of 1e-2 on one weight of the twin. (A constant
        // shift would not do: the next LayerNorm removes a shift shared by every feature.)
        Twin.RequireLibTorch();
        var dir = Twin.Checkpoint(Twin.Tiny, 11, "perturbed");
        try
        {
            using var twin = TwinCheckpoint.Load(dir, out _);
            manual_seed(1);
            using (no_grad()) twin.text.blocks[1].mlp.fc2.weight.add_(randn_like(twin.text.blocks[1].mlp.fc2.weight) * 0.01f);
            var engine = MiniVlm.Load(dir);
            var pixels = new List<float[]> { new float[3 * 48 * 48] };
            var prompts = new List<int[]> { new[] { Tokenizer.Bos, 20, 21 } };
            var responses = new List<int[]> { new[] { 30, 31, 32, 33 } };
            float engineLoss = PolicyLogProbs.ResponseLoss(engine, pixels, prompts, responses).item<float>();
            float twinLoss = TwinLogProbs.ResponseLoss(twin, pixels, prompts, responses).item<float>();
            Assert.True(Math.Abs(engineLoss - twinLoss) > 1e-4, $"a 1e-2 weight change moved the loss by only {Math.Abs(engineLoss - twinLoss):E2}");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [SkippableFact]
    public void Twin_matches_the_reference_forward_written_out_by_hand()
    {
        // An independent check of the twin's attention: one vision block's output computed with plain matmuls
        // (bench/torch_models.py's Attention) equals TwinBlock's (which uses scaled_dot_product_attention).
        Twin.RequireLibTorch();
        manual_seed(2);
        using var block = new TwinBlock(32, 2);
        var x = randn(2, 7, 32);
        using var _ = no_grad();
        var y = block.forward(x, causal: true);
        var h = block.ln1.forward(x);
        var qkv = block.attn.qkv.forward(h).split(32, 2);
        Tensor Heads(Tensor z) => z.view(2, 7, 2, 16).transpose(1, 2);
        var att = Heads(qkv[0]).matmul(Heads(qkv[1]).transpose(-2, -1)) / MathF.Sqrt(16);
        att = att.masked_fill(ones(7, 7, dtype: ScalarType.Bool).tril().logical_not(), float.NegativeInfinity).softmax(-1);
        var a = block.attn.proj.forward(att.matmul(Heads(qkv[2])).transpose(1, 2).reshape(2, 7, 32));
        var mid = x + a;
        var expected = mid + block.mlp.fc2.forward(nn.functional.gelu(block.mlp.fc1.forward(block.ln2.forward(mid))));
        Assert.True((y - expected).abs().max().item<float>() < 1e-5);
    }
}
