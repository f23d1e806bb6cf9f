using MMEureka.Models;
using MMEureka.Eval;
using static MMEureka.Torch.torch;

namespace MMEureka.Tests.Models;

public class TokenPickerTests
{
    private static readonly float[] Logits = [0.1f, 2.0f, 1.5f, -1f, 1.9f];

    [Fact]
    public void GreedyTakesTheArgmaxWithItsLogSoftmax()
    {
        int id = TokenPicker.Pick(Logits, SamplingConfig.Greedy(), new Generator(1), out float lp);
        Assert.Equal(1, id);
        double z = Logits.Sum(v => Math.Exp(v));
        Assert.Equal(2.0 - Math.Log(z), lp, 5);
    }

    [Fact]
    public void TopKOneAndTinyTopPAreGreedy()
    {
        var g = new Generator(2);
        for (int i = 0; i < 50; i++)
        {
            Assert.Equal(1, TokenPicker.Pick(Logits, new SamplingConfig { TopK = 1 }, g, out _));
            Assert.Equal(1, TokenPicker.Pick(Logits, new SamplingConfig { TopP = 0.01f }, g, out _));
        }
    }

    [Fact]
    public void FrequenciesFollowTheFilteredDistribution()
    {
        // top-k 2 keeps ids 1 and 4 in proportion e^2.0 : e^1.9 at temperature 1; temperature 0.5 sharpens it.
        var g = new Generator(3);
        var counts = new int[5];
        const int n = 20000;
        for (int i = 0; i < n; i++) counts[TokenPicker.Pick(Logits, new SamplingConfig { TopK = 2 }, g, out _)]++;
        Assert.Equal(0, counts[0] + counts[2] + counts[3]);
        double expected = Math.Exp(2.0) / (Math.Exp(2.0) + Math.Exp(1.9));
        Assert.InRange(counts[1] / (double)n, expected - 0.015, expected + 0.015);

        // top-p at T=1: probabilities 0.369 (id 1), 0.334 (id 4), 0.224 (id 2), ...; 0.7 keeps ids 1 and 4, 0.75 adds 2.
        Array.Clear(counts);
        for (int i = 0; i < n; i++) counts[TokenPicker.Pick(Logits, new SamplingConfig { TopP = 0.7f }, g, out _)]++;
        Assert.Equal(0, counts[0] + counts[2] + counts[3]);
        Array.Clear(counts);
        for (int i = 0; i < n; i++) counts[TokenPicker.Pick(Logits, new SamplingConfig { TopP = 0.75f }, g, out _)]++;
        Assert.Equal(0, counts[0] + counts[3]);
        Assert.InRange(counts[2] / (double)n, 0.224 / 0.927 - 0.015, 0.224 / 0.927 + 0.015);

        // The reported log-prob is the unfiltered softmax(logits / T).
        TokenPicker.Pick(Logits, new SamplingConfig { Temperature = 0.5f, TopK = 2 }, g, out float lp4);
        double z = Logits.Sum(v => Math.Exp(v / 0.5));
        Assert.True(Math.Abs(lp4 - (2.0 / 0.5 - Math.Log(z))) < 1e-5 || Math.Abs(lp4 - (1.9 / 0.5 - Math.Log(z))) < 1e-5);
    }

    [Fact]
    public void PassAtKMatchesTheClosedForm()
    {
        Assert.Equal(0.0, PassAtK.Estimate(8, 0, 1));
        Assert.Equal(1.0, PassAtK.Estimate(8, 8, 1));
        Assert.Equal(3 / 8.0, PassAtK.Estimate(8, 3, 1), 12);
        // 1 - C(5,2)/C(8,2) = 1 - 10/28
        Assert.Equal(1 - 10 / 28.0, PassAtK.Estimate(8, 3, 2), 12);
        Assert.Equal(1.0, PassAtK.Estimate(8, 3, 6));
        Assert.Equal((3 / 8.0 + 1) / 2, PassAtK.Mean([3, 8], 8, 1), 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => PassAtK.Estimate(4, 1, 5));
    }
}
