using static MMEureka.Torch.torch;

namespace MMEureka.Torch.Tests;

public class PackedLinearTests
{
    private static float[] Random(int n, int seed)
    {
        var g = new Generator(seed);
        return randn([n], g).data<float>().ToArray();
    }

    /// <summary>The straightforward product the kernel promises bit for bit: per element one fused multiply-add chain
    /// over k in order from zero, then the bias added.</summary>
    private static float[] Reference(float[] x, int ldx, int m, int k, float[] w, int n, float[]? bias)
    {
        var y = new float[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float acc = 0f;
                for (int kk = 0; kk < k; kk++) acc = MathF.FusedMultiplyAdd(x[i * ldx + kk], w[j * k + kk], acc);
                y[i * n + j] = acc + (bias?[j] ?? 0f);
            }
        return y;
    }

    [Theory]
    [InlineData(1, 1, 1, false)]
    [InlineData(5, 7, 3, true)]       // fewer rows than a tile, a partial column panel
    [InlineData(6, 16, 8, true)]      // exactly one tile
    [InlineData(13, 17, 33, true)]    // row and column edges together
    [InlineData(32, 384, 128, true)]  // a decoding shard's qkv product
    [InlineData(37, 106, 128, false)] // lm_head: 106 = 6 panels + 10 columns
    [InlineData(20, 128, 512, true)]  // mlp.fc2: the longest chain
    public void Matches_the_fused_multiply_add_chain_bit_for_bit(int m, int n, int k, bool withBias)
    {
        int ldx = k + 3; // rows of x further apart than k: the kernel must follow ldx, not k
        var x = Random(m * ldx, 1);
        var w = Random(n * k, 2);
        var bias = withBias ? Random(n, 3) : null;
        var y = new float[m * n + 5];
        y.AsSpan().Fill(float.NaN);
        PackedLinear.Forward(x, 0, ldx, m, k, PackedLinear.Pack(w, 0, n, k), n, bias, 0, y, 2);
        Assert.Equal(Reference(x, ldx, m, k, w, n, bias), y.AsSpan(2, m * n).ToArray());
        Assert.True(float.IsNaN(y[0]) && float.IsNaN(y[1]) && float.IsNaN(y[m * n + 2]), "wrote outside y[offset, offset + m*n)");
    }

    [Fact]
    public void Each_row_is_the_same_alone_in_any_batch_and_split_over_cores()
    {
        // What the sampler relies on: a row's numbers do not depend on how many rows share the product, where the row
        // sits among them (tile edges) or whether the product was split over the cores.
        const int m = 301, n = 134, k = 128;
        var x = Random(m * k, 4);
        var packed = PackedLinear.Pack(Random(n * k, 5), 0, n, k);
        var bias = Random(n, 6);
        var whole = new float[m * n];
        PackedLinear.Forward(x, 0, k, m, k, packed, n, bias, 0, whole, 0); // 5.2M multiply-adds: split when not serial
        var serial = new float[m * n];
        parallel_shards(1, _ => PackedLinear.Forward(x, 0, k, m, k, packed, n, bias, 0, serial, 0));
        Assert.Equal(whole, serial);
        foreach (int start in new[] { 0, 1, 5, 6, 7, 150, 300 })
            foreach (int rows in new[] { 1, 2, 7 })
            {
                if (start + rows > m) continue;
                var part = new float[rows * n];
                PackedLinear.Forward(x, start * k, k, rows, k, packed, n, bias, 0, part, 0);
                Assert.Equal(whole.AsSpan(start * n, rows * n).ToArray(), part);
            }
    }

    /// <summary>|a - b| &lt;= atol + rtol |b| everywhere, same shape.</summary>
    private static bool Close(Tensor a, Tensor b, double rtol, double atol)
    {
        if (!a.shape.SequenceEqual(b.shape)) return false;
        var x = a.contiguous().data<float>();
        var y = b.contiguous().data<float>();
        for (int i = 0; i < x.Length; i++) if (!(Math.Abs(x[i] - y[i]) <= atol + rtol * Math.Abs(y[i]))) return false;
        return true;
    }

    [Fact]
    public void Inference_mode_linear_layers_agree_with_the_grad_path_and_turn_grad_off()
    {
        manual_seed(3);
        var fc = nn.Linear(128, 384);
        var fc1 = nn.Linear(128, 512);
        var x = randn(2, 9, 128);
        var sliced = randn(4, 5, 128).select(1, 2); // rows 5 * 128 apart
        Tensor expected, expectedGelu, expectedSliced;
        using (no_grad())
        {
            expected = fc.forward(x);
            expectedGelu = nn.functional.linear_gelu(x, fc1.weight, fc1.bias);
            expectedSliced = fc.forward(sliced);
        }
        using (inference_mode())
        {
            Assert.False(is_grad_enabled());
            Assert.True(is_inference_mode_enabled());
            var y = fc.forward(x);
            Assert.Equal(expected.shape, y.shape);
            Assert.True(Close(y, expected, rtol: 1e-5, atol: 1e-5));
            Assert.True(Close(nn.functional.linear_gelu(x, fc1.weight, fc1.bias), expectedGelu, rtol: 1e-5, atol: 1e-5));
            Assert.True(Close(fc.forward(sliced), expectedSliced, rtol: 1e-5, atol: 1e-5));
            // The packed path, not the BLAS one: a lone row gives the bits it gives inside the batch.
            var alone = fc.forward(x.narrow(0, 1, 1).narrow(1, 4, 1)).data<float>();
            Assert.Equal(y.narrow(0, 1, 1).narrow(1, 4, 1).contiguous().data<float>(), alone);
            bool[] shardModes = new bool[2];
            parallel_shards(2, s => shardModes[s] = is_inference_mode_enabled() && !is_grad_enabled());
            Assert.All(shardModes, Assert.True);
        }
        Assert.True(is_grad_enabled());
        Assert.False(is_inference_mode_enabled());
        Assert.True(fc.forward(x).requires_grad);
    }

    [Fact]
    public void A_scope_packs_a_weight_once_and_a_new_scope_sees_changed_weights()
    {
        manual_seed(4);
        var fc = nn.Linear(16, 8);
        var x = randn(3, 16);
        Tensor before;
        using (inference_mode())
        {
            before = fc.forward(x);
            using (no_grad()) fc.weight.mul_(2f);
            // Documented contract: inside the scope the packed copy is used (weights must not change there).
            Assert.Equal(before.data<float>(), fc.forward(x).data<float>());
        }
        Tensor expected;
        using (no_grad()) expected = fc.forward(x); // the BLAS path, with the doubled weight
        using (inference_mode())
        {
            var after = fc.forward(x);
            Assert.True(Close(after, expected, rtol: 1e-5, atol: 1e-5));
            Assert.False(Close(after, before, rtol: 1e-3, atol: 1e-3));
        }
    }
}
