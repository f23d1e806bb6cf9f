using MMEureka.Display;
using MMEureka.Models;
using MMEureka.Prm;

namespace MMEureka.Tests.Prm;

/// <summary>Rollouts sampled from MiniVlm: seeded, batched in whole requests, and a full text window gives an empty
/// (wrong) continuation rather than an error.</summary>
public sealed class VlmRolloutPolicyTests
{
    [Fact]
    public void RolloutsAreSeededAndAFullWindowGivesEmptyContinuations()
    {
        var model = new MiniVlm(MiniVlmConfig.ForPreset("tiny"), 7);
        var problem = ScriptedPolicy.MakeProblem("p0") with { Image = RasterImage.Filled(48, 48, 250, 250, 240) };
        var sampling = new SamplingConfig { Temperature = 1, MaxNewTokens = 12 };
        string longPrefix = "<think>" + string.Join('\n', Enumerable.Repeat("a + b = c", 20)); // > 192 tokens with the prompt
        var requests = new[]
        {
            new RolloutRequest(problem, "<think>", [11L, 12L, 13L]),
            new RolloutRequest(problem, longPrefix, [14L, 15L]),
            new RolloutRequest(problem, "<think>x = 1", [11L]),
        };
        var policy = new VlmRolloutPolicy(model, new Tokenizer(), sampling, batchRows: 2);
        var texts = policy.Complete(requests);
        Assert.Equal([3, 2, 1], texts.Select(t => t.Count));
        Assert.All(texts[1], t => Assert.Equal("", t));
        Assert.Equal(6, policy.Rollouts);
        // Same seeds, other batching: the same continuations.
        var again = new VlmRolloutPolicy(model, new Tokenizer(), sampling, batchRows: 64).Complete(requests);
        Assert.Equal(texts.SelectMany(t => t), again.SelectMany(t => t));
        Assert.NotEqual(texts[0][0], texts[0][1]);
    }
}
