using MMEureka.Cli.Bench;
using MMEureka.Torch;
using static MMEureka.Torch.torch;

namespace MMEureka.Cli.Tests;

/// <summary>The benchmark GPT's sharded sampler against the plain one-batch loop it replaced.</summary>
public sealed class BenchGptTests
{
    /// <summary>Prefill, then one token at a time over the whole batch with one cache: the loop without shards.</summary>
    private static int[] Unsharded(BenchGpt model, int[] prompt, int batch, int newTokens, float temperature, Generator g)
    {
        using var _ = no_grad();
        var c = model.Config;
        int t0 = prompt.Length / batch;
        var cache = new KVCache(c.Layers, batch, c.Heads, t0 + newTokens, c.Dim / c.Heads);
        var output = new int[batch * newTokens];
        var hidden = model.Hidden(prompt, batch, t0, cache, 0).select(1, -1);
        for (int i = 0; i < newTokens; i++)
        {
            var probs = model.lm_head.forward(hidden).div(temperature).softmax(-1);
            var drawn = multinomial(probs, 1, generator: g).data<int>();
            for (int b = 0; b < batch; b++) output[b * newTokens + i] = drawn[b];
            if (i + 1 < newTokens) hidden = model.Hidden(drawn, batch, 1, cache, t0 + i).select(1, -1);
        }
        return output;
    }

    [Theory]
    [InlineData(5)]   // one shard
    [InlineData(BenchGpt.ShardRows + 7)] // a full shard and a partial one
    public void Sharded_sampling_draws_what_the_one_batch_loop_draws(int batch)
    {
        manual_seed(4);
        var model = new BenchGpt(new BenchGptConfig(Vocab: 13, Dim: 16, Layers: 2, Heads: 2, MaxLength: 12));
        model.eval();
        var prompt = new int[batch * 3];
        var g = new Generator(9);
        for (int i = 0; i < prompt.Length; i++) prompt[i] = g.NextInt(13);

        var sharded = model.Generate(prompt, batch, 8, 0.8f, new Generator(21));
        var again = model.Generate(prompt, batch, 8, 0.8f, new Generator(21));
        var plain = Unsharded(model, prompt, batch, 8, 0.8f, new Generator(21));

        Assert.Equal(plain, sharded);
        Assert.Equal(sharded, again);
        Assert.True(sharded.Distinct().Count() > 3, "the draws should vary");
    }
}
