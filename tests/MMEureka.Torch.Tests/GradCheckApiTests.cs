using MMEureka.Torch;
using static MMEureka.Torch.torch;
using F = MMEureka.Torch.torch.nn.functional;

namespace MMEureka.Torch.Tests;

/// <summary>The public <c>torch.autograd.gradcheck</c>: it must pass correct ops and catch a wrong backward.</summary>
public class GradCheckApiTests
{
    static Tensor Leaf(long seed, params long[] shape) => randn(shape, new Generator(seed), requires_grad: true);

    /// <summary>x * x computed outside the graph, with a deliberately wrong backward: g * x instead of g * 2x.</summary>
    static Tensor WrongSquare(Tensor x)
    {
        var value = x.detach().mul(x.detach());
        return Autograd.Record(value, "WrongSquare", [x], g => [g.mul(x.detach())]);
    }

    [Fact]
    public void Correct_ops_pass_with_small_errors()
    {
        var x = Leaf(1, 3, 4);
        var y = Leaf(2, 4, 3);
        var r = autograd.gradcheck(t => t[0].matmul(t[1]).tanh().matmul(t[0]), [x, y]);
        Assert.True(r.Passed, r.ToString());
        Assert.Equal(2, r.Inputs.Count);
        Assert.Equal("[3, 4]", r.Inputs[0].Shape);
        Assert.Equal("[4, 3]", r.Inputs[1].Shape);
        Assert.Equal(12, r.Inputs[1].Elements);
        Assert.All(r.Inputs, d => Assert.Equal(0, d.Failures));
        // Well inside the tolerance (atol 1e-3), not just under it: float32 rounding at eps = 3e-3 costs ~1e-4.
        Assert.True(r.MaxAbsError < 5e-4, r.ToString());
        Assert.Equal(r.Inputs.Max(d => d.MaxAbsError), r.MaxAbsError);

        Assert.True(autograd.gradcheck(t => t[0] * t[1] + t[0].exp(), [Leaf(3, 3, 1), Leaf(4, 1, 5)]).Passed);
        Assert.True(autograd.gradcheck(t => F.log_softmax(t, 1), Leaf(5, 2, 6)).Passed);
        Assert.True(autograd.gradcheck(t => t.t().sigmoid().sum(0), Leaf(6, 4, 3)).Passed);
    }

    [Fact]
    public void Wrong_custom_backward_fails_and_reports_half_the_gradient()
    {
        var x = Leaf(7, 4, 5);
        var r = autograd.gradcheck(WrongSquare, x);
        Assert.False(r.Passed);
        var d = Assert.Single(r.Inputs);
        Assert.False(d.Passed);
        Assert.True(d.Failures >= 15, $"only {d.Failures} of 20 elements failed");
        // The analytic gradient is g * x, the true one g * 2x: relative error 1/2 wherever the gradient is not tiny.
        Assert.InRange(r.MaxRelError, 0.49, 0.51);
        Assert.InRange(d.Analytic / d.Numeric, 0.49, 0.51);
        var analytic = d.AnalyticGradient();
        var numeric = d.NumericGradient();
        for (int i = 0; i < analytic.Length; i++)
            Assert.True(Math.Abs(2 * analytic[i] - numeric[i]) <= 1e-3 + 1e-2 * Math.Abs(numeric[i]), $"element {i}: {analytic[i]} vs {numeric[i]}");

        // The same function with its forward recorded by autograd passes: the check blames the backward only.
        Assert.True(autograd.gradcheck(t => t * t, x).Passed);
    }

    [Fact]
    public void Numeric_gradient_matches_the_closed_form()
    {
        // L = sum(x^3 * W), so dL/dx = 3 x^2 W, independently of autograd.
        var x = Leaf(8, 2, 3);
        var r = autograd.gradcheck(t => t * t * t, x, seed: 42);
        var w = r.OutputWeights();
        Assert.Equal(6, w.Length);
        Assert.All(w, v => Assert.InRange(Math.Abs(v), 0.5f, 1.5f));
        var xs = x.data<float>();
        var numeric = r.Inputs[0].NumericGradient();
        for (int i = 0; i < xs.Length; i++)
        {
            double expected = 3.0 * xs[i] * xs[i] * w[i];
            Assert.True(Math.Abs(numeric[i] - expected) <= 1e-4 + 1e-3 * Math.Abs(expected), $"element {i}: {numeric[i]} vs {expected}");
        }
        // Same seed, same numbers; another seed, other weights (with both signs over enough outputs).
        Assert.Equal(numeric, autograd.gradcheck(t => t * t * t, x, seed: 42).Inputs[0].NumericGradient());
        Assert.NotEqual(w, autograd.gradcheck(t => t * t * t, x, seed: 43).OutputWeights());
        var many = autograd.gradcheck(t => t.exp(), Leaf(12, 64)).OutputWeights();
        Assert.Contains(many, v => v < 0);
        Assert.Contains(many, v => v > 0);
    }

    [Fact]
    public void Constants_are_skipped_and_caller_tensors_left_alone()
    {
        var x = Leaf(9, 3, 4);
        var c = randn(3, 4);
        var before = x.data<float>();
        var r = autograd.gradcheck(t => t[0] * t[1], [c, x]);
        Assert.True(r.Passed);
        var d = Assert.Single(r.Inputs);
        Assert.Equal(1, d.Input);
        Assert.Null(x.grad);
        Assert.Null(c.grad);
        Assert.False(c.requires_grad);
        Assert.Equal(before, x.data<float>());
        // An input the output ignores has gradient zero on both sides.
        var unused = autograd.gradcheck(t => t[0].exp(), [x, Leaf(10, 2)]);
        Assert.True(unused.Passed);
        Assert.Equal(new double[2], unused.Inputs[1].NumericGradient());
    }

    [Fact]
    public void Non_contiguous_inputs_are_checked_by_logical_element()
    {
        var x = Leaf(11, 4, 3).detach().t().requires_grad_();
        var r = autograd.gradcheck(t => t.matmul(t.t()), x);
        Assert.True(r.Passed, r.ToString());
        Assert.Equal("[3, 4]", r.Inputs[0].Shape);
    }

    [Fact]
    public void Bad_calls_throw_clear_errors()
    {
        var e = Assert.Throws<ArgumentException>(() => autograd.gradcheck(t => t.exp(), randn(3)));
        Assert.Contains("requires_grad", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => autograd.gradcheck(t => t.exp(), Leaf(1, 3), eps: 0));
        using (no_grad())
            Assert.Contains("no_grad", Assert.Throws<InvalidOperationException>(() => autograd.gradcheck(t => t.exp(), Leaf(1, 3))).Message);
    }
}
