using MMEureka.Torch;
using static MMEureka.Torch.torch;
using static MMEureka.Torch.Tests.GradCheck;
using F = MMEureka.Torch.torch.nn.functional;

namespace MMEureka.Torch.Tests;

/// <summary>Forward values against numbers computed by hand (or with PyTorch 1.13 where noted).</summary>
public class ForwardValueTests
{
    [Fact]
    public void Softmax_of_1_2_3()
    {
        // e^k / (e + e^2 + e^3)
        Close([0.09003057f, 0.24472847f, 0.66524096f], tensor(new float[] { 1, 2, 3 }).softmax(0).data<float>(), 1e-7, 1e-6);
        Close([-2.40760596f, -1.40760596f, -0.40760596f], tensor(new float[] { 1, 2, 3 }).log_softmax(0).data<float>(), 1e-7, 1e-6);
    }

    [Fact]
    public void Layer_norm_of_a_wide_row_matches_double_precision()
    {
        // 37 values (four 8-lane blocks and a tail of 5) with an offset of 100 that a one-pass variance would lose.
        var xs = Enumerable.Range(0, 37).Select(i => 100f + MathF.Sin(i) * (1 + i % 5)).ToArray();
        var w = Enumerable.Range(0, 37).Select(i => 0.5f + 0.05f * i).ToArray();
        var b = Enumerable.Range(0, 37).Select(i => -1f + 0.1f * (i % 7)).ToArray();
        var y = F.layer_norm(tensor(xs, 1, 37), [37], tensor(w), tensor(b)).data<float>();
        double mean = xs.Average(v => (double)v), variance = xs.Average(v => (v - mean) * (v - mean));
        var expected = xs.Select((v, i) => (float)((v - mean) / Math.Sqrt(variance + 1e-5) * w[i] + b[i])).ToArray();
        Close(expected, y, 2e-5, 2e-5);
    }

    [Fact]
    public void Layer_norm_of_1_2_3_4()
    {
        // mean 2.5, biased variance 1.25: (x - 2.5) / sqrt(1.25 + 1e-5), then * w + b
        var y = F.layer_norm(tensor(new float[] { 1, 2, 3, 4 }, 1, 4), [4], tensor(new float[] { 1, 2, 1, 1 }), tensor(new float[] { 0, 0, 1, 0 }));
        Close([-1.3416355f, -0.8944236f, 1.4472118f, 1.3416355f], y.data<float>(), 1e-6, 1e-6);
        // rms = sqrt(30 / 4)
        Close([0.3651484f, 0.7302967f, 1.0954451f, 1.4605935f], F.rms_norm(tensor(new float[] { 1, 2, 3, 4 }), [4], eps: 0).data<float>(), 1e-6, 1e-6);
    }

    [Fact]
    public void Exact_gelu()
    {
        // x * Phi(x): Phi(1) = 0.8413447, Phi(-0.5) = 0.3085375, Phi(2) = 0.9772499
        Close([0.8413447f, -0.1542688f, 1.9544997f, 0f], tensor(new float[] { 1, -0.5f, 2, 0 }).gelu().data<float>(), 1e-6, 1e-6);
    }

    /// <summary>erf by its Taylor series in double precision (exact to ~1e-9 for |z| &lt;= 4.3).</summary>
    private static double ErfSeries(double z)
    {
        double sum = 0, term = z; // term = (-1)^n z^(2n+1) / n!
        for (int n = 0; n < 200; n++)
        {
            sum += term / (2 * n + 1);
            term *= -z * z / (n + 1);
        }
        return 2 / Math.Sqrt(Math.PI) * sum;
    }

    [Fact]
    public void Gelu_and_its_derivative_match_double_precision_on_the_vector_path()
    {
        // 61 values in [-6, 6], both signs, the tails of erf: with AVX-512 three 16-lane blocks, one 8-lane block
        // and a scalar tail; otherwise seven 8-lane blocks and the tail. The forward that also writes the slope (grad
        // on) and the one that does not (no_grad) must agree bit for bit.
        var xs = Enumerable.Range(0, 61).Select(i => -6f + 0.2f * i).ToArray();
        var x = tensor(xs).requires_grad_();
        var y = x.gelu();
        var g = Enumerable.Range(0, 61).Select(i => 1f + 0.01f * i).ToArray();
        y.backward(tensor(g));
        var yv = y.data<float>();
        var dx = x.grad!.data<float>();
        using (no_grad()) Assert.Equal(yv, x.gelu().data<float>());
        for (int i = 0; i < xs.Length; i++)
        {
            double v = xs[i], phi = 0.5 * (1 + ErfSeries(v / Math.Sqrt(2)));
            double pdf = Math.Exp(-0.5 * v * v) / Math.Sqrt(2 * Math.PI);
            Assert.True(Math.Abs(yv[i] - v * phi) <= 1e-6 * Math.Max(1, Math.Abs(v * phi)), $"gelu({v}) = {yv[i]}, expected {v * phi}");
            double d = g[i] * (phi + v * pdf);
            Assert.True(Math.Abs(dx[i] - d) <= 1e-6 * Math.Max(1, Math.Abs(d)), $"gelu'({v}) * {g[i]} = {dx[i]}, expected {d}");
        }
    }

    [Fact]
    public void Cross_entropy_values()
    {
        var logits = tensor(new float[] { 1, 2, 3, 0, 0, 0 }, 2, 3);
        // row 0: logsumexp(1,2,3) - 1 = 2.40760596; row 1: log 3 = 1.09861229
        Assert.Equal(2.40760596f, F.cross_entropy(logits, [0, -100]).item<float>(), 6);
        Assert.Equal((2.40760596f + 1.09861229f) / 2, F.cross_entropy(logits, [0, 2]).item<float>(), 6);
        Assert.Equal(2.40760596f + 1.09861229f, F.cross_entropy(logits, [0, 2], reduction: "sum").item<float>(), 5);
        Close([0, 1.09861229f], F.cross_entropy(logits, [-100, 1], reduction: "none").data<float>());
    }

    [Fact]
    public void Binary_cross_entropy_with_logits_values()
    {
        // -(t log s(x) + (1 - t) log(1 - s(x))): x = 0, t = 0.3 -> log 2; x = 2, t = 1 -> log(1 + e^-2)
        var loss = F.binary_cross_entropy_with_logits(tensor(new float[] { 0, 2 }), tensor(new float[] { 0.3f, 1 }), "none");
        Close([0.69314718f, 0.12692801f], loss.data<float>());
    }

    [Fact]
    public void Variance_and_mean()
    {
        var x = tensor(new float[] { 1, 2, 3, 4, 2, 2, 2, 6 }, 2, 4);
        Close([1.6666666f, 4f], x.var(1).data<float>());
        Close([1.25f, 3f], x.var(1, unbiased: false).data<float>());
        Close([1.5f, 2f, 2.5f, 5f], x.mean(0).data<float>());
        Assert.Equal(22f, x.sum().item<float>());
        var (values, indexes) = x.max(1);
        Close([4, 6], values.data<float>());
        Assert.Equal(new[] { 3, 3 }, indexes.data<int>());
        Assert.Equal(new[] { 0, 0 }, x.min(1).indexes.data<int>());
        Assert.Equal(4.44018936f, tensor(new float[] { 1, 2, 3, 4 }).logsumexp(0).item<float>(), 5);
    }

    [Fact]
    public void Matmul_of_known_matrices()
    {
        var a = tensor(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        var b = tensor(new float[] { 7, 8, 9, 10, 11, 12 }, 3, 2);
        Close([58, 64, 139, 154], a.matmul(b).data<float>());
        Close([58, 139, 64, 154], b.t().matmul(a.t()).data<float>());
        Close([14, 32], a.matmul(tensor(new float[] { 1, 2, 3 })).data<float>());
    }
}
