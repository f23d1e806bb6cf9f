using MMEureka.Models;
using static MMEureka.Torch.torch;

namespace MMEureka.Tests.Models;

public class SamplerTests
{
    private static readonly Tokenizer Tok = new();

    private static (List<float[]> px, List<int[]> prompts) Batch()
    {
        var prompts = new List<int[]> { TestModels.Prompt("3+4=?"), TestModels.Prompt("area of the red shape"), TestModels.Prompt("x") };
        var px = new List<float[]> { TestModels.Image(1), TestModels.Image(2), TestModels.Image(3) };
        return (px, prompts);
    }

    [Fact]
    public void KvCacheGreedyMatchesArgmaxOfTheFullForwardAtEveryStep()
    {
        var model = TestModels.Model(5);
        var (px, prompts) = Batch();
        var results = Sampler.Sample(model, Tok, px, prompts, SamplingConfig.Greedy(12));
        for (int r = 0; r < prompts.Count; r++)
        {
            var seq = prompts[r].Concat(results[r].Tokens).ToArray();
            var logits = model.forward(Sampler.ImageBatch([px[r]], model.Config), seq, seq.Length).data<float>();
            for (int k = 0; k < results[r].Tokens.Length; k++)
            {
                int row = 36 + prompts[r].Length - 1 + k;
                var span = logits.AsSpan(row * 106, 106);
                int argmax = 0;
                for (int v = 1; v < 106; v++) if (span[v] > span[argmax]) argmax = v;
                Assert.Equal(argmax, results[r].Tokens[k]);
                double max = span[argmax], sum = 0;
                foreach (var v in span) sum += Math.Exp(v - max);
                Assert.Equal(-Math.Log(sum), results[r].LogProbs[k], 4);
            }
        }
    }

    [Fact]
    public void PaddedBatchEqualsOneByOne()
    {
        var model = TestModels.Model(6);
        var (px, prompts) = Batch();
        var config = new SamplingConfig { Temperature = 1.0f, MaxNewTokens = 15, Seed = 42 };
        var batched = Sampler.Sample(model, Tok, px, prompts, config);
        for (int r = 0; r < prompts.Count; r++)
        {
            var alone = Sampler.Sample(model, Tok, [px[r]], [prompts[r]], config, [Sampler.RowSeed(42, r)])[0];
            Assert.Equal(alone.Tokens, batched[r].Tokens);
            Assert.Equal(alone.Truncated, batched[r].Truncated);
            for (int k = 0; k < alone.LogProbs.Length; k++) Assert.Equal(alone.LogProbs[k], batched[r].LogProbs[k], 4);
        }
    }

    [Fact]
    public void GreedyIsDeterministicAndSeededSamplingReproduces()
    {
        var model = TestModels.Model(7);
        var (px, prompts) = Batch();
        var g1 = Sampler.Sample(model, Tok, px, prompts, SamplingConfig.Greedy(10));
        var g2 = Sampler.Sample(model, Tok, px, prompts, SamplingConfig.Greedy(10));
        Assert.Equal(g1.Select(r => r.Text), g2.Select(r => r.Text));

        var cfg = new SamplingConfig { Temperature = 1.2f, TopK = 40, TopP = 0.95f, MaxNewTokens = 20, Seed = 9 };
        var s1 = Sampler.Sample(model, Tok, px, prompts, cfg);
        var s2 = Sampler.Sample(model, Tok, px, prompts, cfg);
        Assert.Equal(s1.SelectMany(r => r.Tokens), s2.SelectMany(r => r.Tokens));
        Assert.Equal(s1.SelectMany(r => r.LogProbs), s2.SelectMany(r => r.LogProbs));
        var s3 = Sampler.Sample(model, Tok, px, prompts, cfg with { Seed = 10 });
        Assert.NotEqual(s1.SelectMany(r => r.Tokens), s3.SelectMany(r => r.Tokens));
    }

    [Fact]
    public void RecomputedLogProbsEqualTheSamplersAndCarryGradients()
    {
        var model = TestModels.Model(8);
        var (px, prompts) = Batch();
        var cfg = new SamplingConfig { Temperature = 0.8f, MaxNewTokens = 14, Seed = 3 };
        var samples = Sampler.Sample(model, Tok, px, prompts, cfg);
        var (logProbs, mask) = PolicyLogProbs.Compute(model, px, prompts, samples.Select(s => s.Tokens).ToList(), cfg.Temperature);
        int lmax = samples.Max(s => s.Tokens.Length);
        Assert.Equal([3L, lmax], logProbs.shape);
        var values = logProbs.data<float>();
        for (int r = 0; r < 3; r++)
            for (int k = 0; k < lmax; k++)
            {
                bool real = k < samples[r].Tokens.Length;
                Assert.Equal(real ? 1f : 0f, mask[r * lmax + k]);
                Assert.Equal(real ? samples[r].LogProbs[k] : 0f, values[r * lmax + k], 4);
            }
        logProbs.sum().backward();
        Assert.NotNull(model.text.tok_embed.weight.grad);
        Assert.True(model.vision.patch_embed.weight.grad!.abs().sum().item<float>() > 0);
    }

    /// <summary>Rows of RL's shape: <paramref name="groups"/> prompts of different lengths, each repeated
    /// <paramref name="size"/> times in a row (G samples per prompt), each group with its own image.</summary>
    private static (List<float[]> px, List<int[]> prompts) Groups(int groups, int size)
    {
        string[] questions = ["3+4=?", "area of the red shape", "x", "how many dots are in the picture?", "7*8"];
        var px = new List<float[]>();
        var prompts = new List<int[]>();
        for (int g = 0; g < groups; g++)
            for (int i = 0; i < size; i++)
            {
                px.Add(TestModels.Image(10 + g));
                prompts.Add(TestModels.Prompt(questions[g % questions.Length] + g));
            }
        return (px, prompts);
    }

    [Theory]
    [InlineData(3, 4, 1.0f, 0, 1.0f)]   // 12 rows: six slots per core
    [InlineData(5, 8, 1.0f, 0, 1.0f)]   // 40 rows: rows leaving at different steps, others starting in their slots
    [InlineData(4, 5, 0.7f, 12, 0.9f)]  // top-k and top-p
    public void SharingThePrefillOfRepeatedRowsChangesNoBit(int groups, int size, float temperature, int topK, float topP)
    {
        var model = TestModels.Model(11);
        var (px, prompts) = Groups(groups, size);
        // The repeats are equal by content, not by reference: copies of the arrays must be found too.
        px = px.Select(p => (float[])p.Clone()).ToList();
        var config = new SamplingConfig { Temperature = temperature, TopK = topK, TopP = topP, MaxNewTokens = 25, Seed = 17 };
        var shared = Sampler.Sample(model, Tok, px, prompts, config, null, sharePrefill: true);
        var separate = Sampler.Sample(model, Tok, px, prompts, config, null, sharePrefill: false);
        for (int r = 0; r < prompts.Count; r++)
        {
            Assert.Equal(separate[r].Tokens, shared[r].Tokens);
            Assert.Equal(separate[r].LogProbs, shared[r].LogProbs); // exact
            Assert.Equal(separate[r].Truncated, shared[r].Truncated);
        }
        // The repeats of a prompt drew different responses (their own seeds), so the copies are not one row reused.
        Assert.Contains(Enumerable.Range(1, size - 1), i => !shared[i].Tokens.SequenceEqual(shared[0].Tokens));
        Assert.Contains(shared, x => !x.Truncated);
        Assert.Contains(shared, x => x.Truncated);
    }

    [Fact]
    public void RowsThatStartInTheSlotsOfStoppedRowsEqualTheRowsSampledAlone()
    {
        // 40 rows decode a few at a time on each core, rows starting in the slots of rows that stopped (so rows at
        // different lengths decode together); each row must still be what it is alone.
        var model = TestModels.Model(12);
        var (px, prompts) = Groups(8, 5);
        var config = new SamplingConfig { Temperature = 1.0f, MaxNewTokens = 30, Seed = 23 };
        var batched = Sampler.Sample(model, Tok, px, prompts, config);
        // One decoding core has far fewer slots than rows: most rows start in the slot of a row that stopped.
        Assert.True(prompts.Count > 4 * Sampler.DecodeSlots);
        var oneCore = Sampler.Sample(model, Tok, px, prompts, config, null, sharePrefill: true, decodeCores: 1);
        var lengths = batched.Select(b => b.Tokens.Length).Distinct().Count();
        Assert.True(lengths > 3, $"rows should stop at different steps, got {lengths} distinct lengths");
        for (int r = 0; r < prompts.Count; r++)
        {
            Assert.Equal(batched[r].Tokens, oneCore[r].Tokens);
            Assert.Equal(batched[r].LogProbs, oneCore[r].LogProbs); // exact: the same ops on the same row
        }
        for (int r = 0; r < prompts.Count; r += 3)
        {
            var alone = Sampler.Sample(model, Tok, [px[r]], [prompts[r]], config, [Sampler.RowSeed(23, r)])[0];
            Assert.Equal(alone.Tokens, batched[r].Tokens);
            for (int k = 0; k < alone.LogProbs.Length; k++) Assert.Equal(alone.LogProbs[k], batched[r].LogProbs[k], 1e-5f);
        }
    }

    [Theory]
    [InlineData(1.0f)]
    [InlineData(0.7f)]
    public void TeacherForcedLogProbsAgreeWithTheSamplersBelow1e4(float temperature)
    {
        // RL's ratio check (issue 11): PolicyLogProbs.Compute on the sampled responses, a full forward of the same
        // weights, against the log-probs recorded while sampling; rows of several shards and mixed prompt lengths.
        var model = TestModels.Model(13);
        var (px, prompts) = Groups(6, 6);
        var config = new SamplingConfig { Temperature = temperature, MaxNewTokens = 30, Seed = 29 };
        var samples = Sampler.Sample(model, Tok, px, prompts, config);
        var (logProbs, mask) = PolicyLogProbs.Compute(model, px, prompts, samples.Select(s => s.Tokens).ToList(), temperature);
        var values = logProbs.data<float>();
        int lmax = samples.Max(s => s.Tokens.Length);
        double maxDiff = 0;
        int compared = 0;
        for (int r = 0; r < samples.Length; r++)
            for (int k = 0; k < samples[r].Tokens.Length; k++)
            {
                Assert.Equal(1f, mask[r * lmax + k]);
                maxDiff = Math.Max(maxDiff, Math.Abs(values[r * lmax + k] - samples[r].LogProbs[k]));
                compared++;
            }
        Assert.True(compared > 200, $"only {compared} tokens compared");
        Assert.True(maxDiff < 1e-4, $"largest |sampling - recomputed| log-prob difference {maxDiff:E2}");
    }

    [Fact]
    public void StopsAtAnswerCloseAndMarksTruncation()
    {
        // Final norm outputs all ones, so the logits are the row sums of lm_head: one row set to 1 wins.
        var model = TestModels.Model(9);
        void Favour(int id)
        {
            using var _ = no_grad();
            model.text.norm.weight!.fill_(0);
            model.text.norm.bias!.fill_(1);
            model.lm_head.weight.fill_(0);
            model.lm_head.weight.narrow(0, id, 1).fill_(1);
        }
        var px = new List<float[]> { TestModels.Image(1) };
        var prompt = new List<int[]> { TestModels.Prompt("q") };
        int a = Tok.Encode("a")[0];
        Favour(a);
        var truncated = Sampler.Sample(model, Tok, px, prompt, SamplingConfig.Greedy(3))[0];
        Assert.Equal([a, a, a], truncated.Tokens);
        Assert.True(truncated.Truncated);
        Assert.Equal("aaa", truncated.Text);

        Favour(Tokenizer.EndAnswer);
        var stopped = Sampler.Sample(model, Tok, px, prompt, SamplingConfig.Greedy(10))[0];
        Assert.Equal([Tokenizer.EndAnswer], stopped.Tokens);
        Assert.False(stopped.Truncated);
        Assert.Equal("</answer>", stopped.Text);

        Favour(Tokenizer.Eos);
        var eos = Sampler.Sample(model, Tok, px, prompt, SamplingConfig.Greedy(10))[0];
        Assert.Equal([Tokenizer.Eos], eos.Tokens);
        Assert.Equal("", eos.Text);
    }

    [Fact]
    public void RejectsPromptsThatLeaveNoRoomAndMismatchedInputs()
    {
        var model = TestModels.Model();
        var longPrompt = Enumerable.Repeat(20, 40).ToArray();
        Assert.Throws<ArgumentException>(() => Sampler.Sample(model, Tok, [TestModels.Image(1)], [longPrompt], SamplingConfig.Greedy()));
        Assert.Throws<ArgumentException>(() => Sampler.Sample(model, Tok, [TestModels.Image(1)], [[1], [1]], SamplingConfig.Greedy()));
        Assert.Throws<ArgumentException>(() => Sampler.Sample(model, Tok, [new float[5]], [[1]], SamplingConfig.Greedy()));
    }
}
