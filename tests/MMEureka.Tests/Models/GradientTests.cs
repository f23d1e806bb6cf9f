using MMEureka.Models;
using static MMEureka.Torch.torch;

namespace MMEureka.Tests.Models;

public class GradientTests
{
    /// <summary>The SFT loss gradient w.r.t. vision, projector and text weights matches central differences, so
    /// the image path is trained by the right signal (float32: step 1e-2, 5% relative tolerance).</summary>
    [Theory]
    [InlineData("vision.patch_embed.weight")]
    [InlineData("vision.pos_embed")]
    [InlineData("vision.blocks.0.attn.qkv.weight")]
    [InlineData("vision.blocks.0.mlp.fc1.weight")]
    [InlineData("vision.norm.weight")]
    [InlineData("projector.fc1.weight")]
    [InlineData("projector.fc2.bias")]
    [InlineData("text.pos_embed")]
    [InlineData("text.blocks.1.attn.proj.weight")]
    public void LossGradientMatchesFiniteDifferences(string name)
    {
        var model = new MiniVlm(TestModels.Tiny, 11);
        var pixels = new List<float[]> { TestModels.Image(1), TestModels.Image(2) };
        var prompts = new List<int[]> { TestModels.Prompt("ab"), TestModels.Prompt("c") };
        var responses = new List<int[]> { new[] { 30, 31, 32 }, new[] { 40, 41, 42, 43 } };
        double Loss() => PolicyLogProbs.ResponseLoss(model, pixels, prompts, responses).item<float>();

        var param = model.named_parameters().Single(p => p.name == name).parameter;
        PolicyLogProbs.ResponseLoss(model, pixels, prompts, responses).backward();
        var grad = param.grad!.data<float>();
        // Check the entries with the largest gradients (the most informative ones).
        var top = Enumerable.Range(0, grad.Length).OrderByDescending(i => Math.Abs(grad[i])).Take(3).ToArray();
        Assert.True(Math.Abs(grad[top[0]]) > 1e-4, $"{name}: gradient is ~0");
        const float eps = 1e-2f;
        foreach (var i in top)
        {
            double plus, minus;
            using (no_grad())
            {
                var flat = param.view(-1);
                float old = flat.narrow(0, i, 1).item<float>();
                flat.narrow(0, i, 1).fill_(old + eps); plus = Loss();
                flat.narrow(0, i, 1).fill_(old - eps); minus = Loss();
                flat.narrow(0, i, 1).fill_(old);
            }
            double numeric = (plus - minus) / (2 * eps);
            Assert.True(Math.Abs(numeric - grad[i]) <= 0.05 * Math.Abs(grad[i]) + 1e-3,
                $"{name}[{i}]: autograd {grad[i]:G5} vs finite difference {numeric:G5}");
        }
    }
}
