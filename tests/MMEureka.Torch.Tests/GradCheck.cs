using MMEureka.Torch;
using static MMEureka.Torch.torch;

namespace MMEureka.Torch.Tests;

/// <summary>
/// Finite-difference gradient checks: loss = sum(f(inputs) * W) for fixed random weights W, accumulated in double;
/// every input element's analytic gradient is compared with the central difference (L(x+h) - L(x-h)) / 2h.
/// </summary>
internal static class GradCheck
{
    public static void Check(Func<Tensor[], Tensor> f, params Tensor[] inputs) => Check(f, 3e-3, 2e-3, 2e-2, inputs);

    public static void Check(Func<Tensor[], Tensor> f, double h, double atol, double rtol, params Tensor[] inputs)
    {
        foreach (var x in inputs)
        {
            x.requires_grad = true;
            x.grad = null;
        }
        var output = f(inputs);
        var weights = randn(output.shape, new Generator(1234)).data<float>();
        output.mul(tensor(weights, output.shape)).sum().backward();

        double Loss()
        {
            using var _ = no_grad();
            var values = f(inputs).data<float>();
            double s = 0;
            for (int i = 0; i < values.Length; i++) s += (double)values[i] * weights[i];
            return s;
        }

        for (int k = 0; k < inputs.Length; k++)
        {
            var x = inputs[k];
            Assert.True(x.grad != null, $"input {k} got no gradient");
            var analytic = x.grad!.data<float>();
            Assert.Equal(x.numel(), analytic.Length);
            for (int i = 0; i < analytic.Length; i++)
            {
                int pos = StorageIndex(x, i);
                float saved = x.Storage[pos];
                x.Storage[pos] = saved + (float)h;
                double up = Loss();
                x.Storage[pos] = saved - (float)h;
                double down = Loss();
                x.Storage[pos] = saved;
                double numeric = (up - down) / (2 * h);
                double err = Math.Abs(numeric - analytic[i]);
                Assert.True(err <= atol + rtol * Math.Abs(numeric),
                    $"input {k} element {i}: analytic {analytic[i]:G6} vs numeric {numeric:G6}");
            }
        }
    }

    /// <summary>Storage position of the i-th logical (row-major) element.</summary>
    private static int StorageIndex(Tensor x, int i)
    {
        int pos = x.Offset;
        for (int d = x.Sizes.Length - 1; d >= 0; d--)
        {
            pos += i % x.Sizes[d] * x.Strides[d];
            i /= x.Sizes[d];
        }
        return pos;
    }

    /// <summary>A reproducible random leaf tensor.</summary>
    public static Tensor Rand(long seed, params long[] shape) => randn(shape, new Generator(seed));

    /// <summary>Values spaced 0.1 apart in a random order: no near-ties, so max/min gradients are well defined
    /// under finite differences.</summary>
    public static Tensor Distinct(long seed, params long[] shape)
    {
        var g = new Generator(seed);
        int n = (int)shape.Aggregate(1L, (a, b) => a * b);
        var values = new float[n];
        for (int i = 0; i < n; i++) values[i] = (i - n / 2) * 0.1f;
        for (int i = n - 1; i > 0; i--)
        {
            int j = g.NextInt(i + 1);
            (values[i], values[j]) = (values[j], values[i]);
        }
        return tensor(values, shape);
    }

    /// <summary>Asserts element-wise closeness.</summary>
    public static void Close(float[] expected, float[] actual, double atol = 1e-5, double rtol = 1e-5)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= atol + rtol * Math.Abs(expected[i]),
                $"element {i}: expected {expected[i]:G7}, got {actual[i]:G7}");
    }
}
