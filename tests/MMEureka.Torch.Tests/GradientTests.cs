using MMEureka.Torch;
using static MMEureka.Torch.torch;
using static MMEureka.Torch.Tests.GradCheck;
using F = MMEureka.Torch.torch.nn.functional;

namespace MMEureka.Torch.Tests;

public class GradientTests
{
    [Fact]
    public void Add_sub_mul_div_with_broadcasting()
    {
        Check(x => x[0] + x[1], Rand(1, 3, 4), Rand(2, 4));
        Check(x => x[0] - x[1], Rand(1, 2, 3, 4), Rand(2, 3, 1));
        Check(x => x[0] * x[1], Rand(1, 3, 1), Rand(2, 1, 5));
        Check(x => x[0] / (x[1].abs() + 1f), Rand(1, 2, 3), Rand(2, 3));
        Check(x => x[0].add(x[1], alpha: 2.5f), Rand(1, 4), Rand(2, 2, 4));
        Check(x => 2f - x[0] * 3f + 1f / (x[0].square() + 2f), Rand(3, 5));
    }

    [Fact]
    public void Elementwise_on_non_contiguous_views()
    {
        Check(x => x[0].t() * x[1], Rand(1, 4, 3), Rand(2, 3, 4));
        Check(x => x[0].narrow(1, 1, 2) + x[1].transpose(0, 1), Rand(1, 3, 4), Rand(2, 2, 3));
        Check(x => x[0].permute(2, 0, 1).exp(), Rand(1, 2, 3, 2));
    }

    [Fact]
    public void Unary_functions()
    {
        Check(x => x[0].exp(), Rand(1, 3, 4));
        Check(x => (x[0].abs() + 0.5f).log(), Rand(2, 3, 4));
        Check(x => (x[0].abs() + 0.5f).sqrt(), Rand(3, 3, 4));
        Check(x => (x[0].abs() + 0.5f).rsqrt(), Rand(4, 3, 4));
        Check(x => (x[0].abs() + 0.5f).pow(1.5f), Rand(5, 3, 4));
        Check(x => x[0].tanh(), Rand(6, 3, 4));
        Check(x => x[0].sigmoid(), Rand(7, 3, 4));
        Check(x => x[0].relu(), Rand(8, 3, 4));
        Check(x => x[0].gelu(), Rand(9, 3, 4).mul(2f).detach());
        Check(x => x[0].silu(), Rand(10, 3, 4));
        Check(x => x[0].clamp(-0.5f, 0.7f), Rand(11, 3, 4));
        Check(x => -x[0], Rand(12, 2, 2));
        Check(x => x[0].maximum(x[1]) + x[0].minimum(x[1]) * 2f, Distinct(13, 3, 4), Distinct(14, 4).add(0.05f));
    }

    [Fact]
    public void Reductions()
    {
        Check(x => x[0].sum(), Rand(1, 3, 4));
        Check(x => x[0].sum(1), Rand(2, 3, 4, 2));
        Check(x => x[0].sum(0, keepdim: true), Rand(3, 3, 4));
        Check(x => x[0].mean(-1), Rand(4, 3, 4));
        Check(x => x[0].mean(new long[] { 0, 2 }), Rand(5, 3, 4, 2));
        Check(x => x[0].t().sum(1), Rand(6, 3, 4));
        Check(x => x[0].var(1), Rand(7, 3, 5));
        Check(x => x[0].var(0, unbiased: false, keepdim: true), Rand(8, 4, 3));
        Check(x => x[0].logsumexp(1), Rand(9, 3, 5));
        Check(x => x[0].max(1).values, Distinct(10, 4, 6));
        Check(x => x[0].min(0).values, Distinct(11, 4, 6));
        Check(x => x[0].max(), Distinct(12, 4, 6));
    }

    [Fact]
    public void Matmul_shapes_and_transposed_operands()
    {
        Check(x => x[0].matmul(x[1]), Rand(1, 3, 4), Rand(2, 4, 5));
        Check(x => x[0].matmul(x[1]), Rand(1, 2, 3, 4), Rand(2, 4, 5));
        Check(x => x[0].matmul(x[1]), Rand(1, 2, 3, 4), Rand(2, 2, 4, 5));
        Check(x => x[0].matmul(x[1]), Rand(1, 2, 1, 3, 4), Rand(2, 3, 4, 2));
        Check(x => x[0].t().matmul(x[1].t()), Rand(1, 4, 3), Rand(2, 5, 4));
        Check(x => x[0].transpose(1, 2).matmul(x[1]), Rand(1, 2, 4, 3), Rand(2, 4, 5));
        Check(x => x[0].matmul(x[1]), Rand(1, 4), Rand(2, 4, 3));
        Check(x => x[0].matmul(x[1]), Rand(1, 3, 4), Rand(2, 4));
        Check(x => x[0].matmul(x[1]), Rand(1, 4), Rand(2, 4));
    }

    [Fact]
    public void Views_and_shape_ops()
    {
        Check(x => x[0].view(4, 3) * x[1], Rand(1, 2, 6), Rand(2, 4, 3));
        Check(x => x[0].t().reshape(-1) * x[1], Rand(1, 3, 4), Rand(2, 12));
        Check(x => x[0].unsqueeze(1).expand(3, 2, 4) * x[1], Rand(1, 3, 4), Rand(2, 3, 2, 4));
        Check(x => x[0].slice(1, 1, 6, 2).squeeze(), Rand(1, 3, 6));
        Check(x => x[0].select(0, 1) + x[0].select(0, 2), Rand(1, 3, 4));
        Check(x => cat([x[0], x[1].t()], 1), Rand(1, 3, 2), Rand(2, 4, 3));
        Check(x => stack([x[0], x[1]], 1), Rand(1, 3, 2), Rand(2, 3, 2));
        Check(x => x[0].split(2, 1)[1] * x[0].chunk(3, 1)[0], Rand(1, 3, 6));
        Check(x => x[0].contiguous().flatten(), Rand(1, 3, 4).t().detach());
    }

    [Fact]
    public void Indexing_ops()
    {
        Check(x => x[0].gather(1, tensor(new[] { 2, 0, 1, 1, 3, 3 }, 3, 2)), Rand(1, 3, 4));
        Check(x => x[0].gather(0, tensor(new[] { 2, 0, 1, 1 }, 1, 4)), Rand(1, 3, 4));
        Check(x => x[0].index_select(0, new[] { 2, 0, 2 }), Rand(1, 3, 4));
        Check(x => x[0].index_select(1, tensor(new[] { 3, 1 })), Rand(1, 3, 4));
        var mask = tensor(new float[] { 1, 0, 0, 1 }, 1, 4);
        Check(x => x[0].masked_fill(mask, -2f), Rand(1, 3, 4));
        Check(x => where(mask, x[0], x[1]), Rand(1, 3, 4), Rand(2, 3, 1));
    }

    [Fact]
    public void Softmax_and_log_softmax_on_any_dim()
    {
        Check(x => x[0].softmax(-1), Rand(1, 3, 5));
        Check(x => x[0].softmax(0), Rand(2, 3, 5));
        Check(x => x[0].log_softmax(-1), Rand(3, 3, 5));
        Check(x => x[0].t().log_softmax(1), Rand(4, 3, 5));
    }

    /// <summary>linear_gelu is linear(...).gelu() fused: the same numbers bit for bit, forward and all three
    /// gradients, on the tiled kernel's path with its row-strip epilogue (300 x 128 -> 512, and 301 rows for a
    /// partial last strip; 300 x 256 -> 1024, whose product linear splits by columns and linear_gelu by rows) and on
    /// the backend's path (7 x 5 -> 6); without bias too; and under no_grad.</summary>
    [Fact]
    public void Linear_gelu_equals_linear_then_gelu()
    {
        // 300 x 256 -> 1024: linear cuts it into column parts, linear_gelu into row parts (its epilogue needs whole rows).
        foreach (var (rows, inF, outF, withBias) in new[] { (300, 128, 512, true), (301, 128, 512, false), (300, 256, 1024, true), (7, 5, 6, true) })
        {
            var x = Rand(20, rows, inF).requires_grad_();
            var w = Rand(21, outF, inF).mul(0.1f).detach().requires_grad_();
            var b = withBias ? Rand(22, outF).detach().requires_grad_() : null;
            var g = Rand(23, rows, outF);
            var fused = F.linear_gelu(x, w, b);
            fused.backward(g);
            var (fx, fw, fb) = (x.grad!.data<float>(), w.grad!.data<float>(), b?.grad!.data<float>());
            x.grad = null; w.grad = null;
            if (b != null) b.grad = null;
            var plain = F.linear(x, w, b).gelu();
            plain.backward(g);
            Assert.Equal(plain.data<float>(), fused.data<float>());
            Assert.Equal(x.grad!.data<float>(), fx);
            Assert.Equal(w.grad!.data<float>(), fw);
            if (b != null) Assert.Equal(b.grad!.data<float>(), fb);
            using (no_grad()) Assert.Equal(plain.data<float>(), F.linear_gelu(x, w, b).data<float>());
        }
        Check(x => F.linear_gelu(x[0], x[1], x[2]), Rand(24, 3, 4), Rand(25, 5, 4), Rand(26, 5));
    }

    [Fact]
    public void Linear_layer_norm_rms_norm()
    {
        Check(x => F.linear(x[0], x[1], x[2]), Rand(1, 2, 3, 4), Rand(2, 5, 4), Rand(3, 5));
        Check(x => F.linear(x[0].transpose(0, 1), x[1]), Rand(1, 4, 3), Rand(2, 5, 4));
        // 300 output features: the bias is copied and its gradient summed in parallel column slices.
        Check(x => F.linear(x[0], x[1], x[2]), Rand(7, 70, 3), Rand(8, 300, 3), Rand(9, 300));
        Check(x => F.layer_norm(x[0], [5], x[1], x[2]), Rand(1, 2, 3, 5), Rand(2, 5), Rand(3, 5));
        Check(x => F.layer_norm(x[0].t(), [3]), Rand(4, 3, 4));
        Check(x => F.rms_norm(x[0], [4], x[1]), Rand(5, 3, 4), Rand(6, 4));
        // Widths 21 and 19: the row kernels' 8-lane loops and their scalar tails, with and without weight and bias.
        Check(x => F.layer_norm(x[0], [21], x[1], x[2]), Rand(10, 3, 21), Rand(11, 21), Rand(12, 21));
        Check(x => F.layer_norm(x[0], [21]), Rand(13, 2, 21));
        Check(x => F.rms_norm(x[0], [19], x[1]), Rand(14, 3, 19), Rand(15, 19));
    }

    [Fact]
    public void Embedding_scatter_adds_repeated_ids()
    {
        Check(x => F.embedding(new[] { 1, 3, 1, 0, 1, 2 }, [2, 3], x[0]), Rand(1, 5, 4));
        Check(x => F.embedding(tensor(new[] { 4, 4 }), x[0]), Rand(2, 5, 3));
    }

    [Fact]
    public void Cross_entropy_with_ignore_index_and_reductions()
    {
        var target = new[] { 2, -100, 0, 4 };
        Check(x => F.cross_entropy(x[0], target), Rand(1, 4, 5));
        Check(x => F.cross_entropy(x[0], target, reduction: "sum"), Rand(2, 4, 5));
        Check(x => F.cross_entropy(x[0], target, reduction: "none"), Rand(3, 4, 5));
        Check(x => F.cross_entropy(x[0].t(), new[] { 1, 1, 0 }), Rand(4, 2, 3));
    }

    [Fact]
    public void Binary_cross_entropy_with_soft_targets()
    {
        Check(x => F.binary_cross_entropy_with_logits(x[0], x[1].sigmoid()), Rand(1, 3, 4), Rand(2, 3, 4));
        Check(x => F.binary_cross_entropy_with_logits(x[0], x[1].sigmoid(), "none"), Rand(3, 5), Rand(4, 5));
        Check(x => F.binary_cross_entropy_with_logits(x[0], x[1].sigmoid(), "sum"), Rand(5, 5), Rand(6, 5));
    }

    [Fact]
    public void Dropout_gradient_uses_the_same_mask()
    {
        var x = Rand(1, 4, 5).requires_grad_();
        var y = F.dropout(x, 0.5, training: true, generator: new Generator(3));
        y.sum().backward();
        var yv = y.data<float>();
        var xv = x.data<float>();
        var g = x.grad!.data<float>();
        for (int i = 0; i < g.Length; i++)
        {
            Assert.True(g[i] == 0 || g[i] == 2, $"gradient {g[i]}");
            Assert.Equal(g[i] * xv[i], yv[i], 5);
        }
        Assert.Contains(0f, g);
        Assert.Contains(2f, g);
    }
}
