using MMEureka.Torch;
using static MMEureka.Torch.torch;
using static MMEureka.Torch.Tests.GradCheck;

namespace MMEureka.Torch.Tests;

public class TensorTests
{
    [Fact]
    public void Broadcast_shapes()
    {
        Assert.Equal(new long[] { 2, 3, 4 }, (zeros(3, 1) + zeros(2, 1, 4)).shape);
        Assert.Equal(new long[] { 5, 4 }, (zeros(5, 4) * 2f).shape);
        Assert.Equal(new long[] { 3 }, (zeros(3) - tensor(1f)).shape);
        Assert.Throws<ArgumentException>(() => zeros(2, 3) + zeros(4));
        Close([11, 21, 12, 22], (tensor(new float[] { 10, 20 }, 1, 2) + tensor(new float[] { 1, 2 }, 2, 1)).data<float>());
    }

    [Fact]
    public void Views_share_storage_and_contiguous_copies()
    {
        var x = arange(6).reshape(2, 3);
        var t = x.t();
        Assert.Same(x.Storage, t.Storage);
        Assert.False(t.is_contiguous());
        Assert.Equal(new float[] { 0, 3, 1, 4, 2, 5 }, t.data<float>());
        var n = x.narrow(1, 1, 2);
        Assert.Same(x.Storage, n.Storage);
        n.fill_(7);
        Assert.Equal(new float[] { 0, 7, 7, 3, 7, 7 }, x.data<float>());
        var c = t.contiguous();
        Assert.NotSame(x.Storage, c.Storage);
        Assert.True(c.is_contiguous());
        Assert.Same(x.Storage, x.view(3, 2).Storage);
        Assert.Same(x.Storage, x.unsqueeze(0).expand(4, 2, 3).Storage);
        Assert.Throws<InvalidOperationException>(() => t.view(6));
        Assert.Equal(new float[] { 0, 3, 7, 7, 7, 7 }, t.reshape(6).data<float>());
        Assert.Equal(new long[] { 3, 1, 2 }, x.permute(1, 0).unsqueeze(1).shape);
    }

    [Fact]
    public void No_grad_scope_is_bound_to_its_thread_and_restores_its_depth()
    {
        var scope = no_grad();
        Exception? error = null;
        var other = new Thread(() =>
        {
            try { scope.Dispose(); } catch (Exception e) { error = e; }
            Assert.True(is_grad_enabled()); // the other thread's grad mode is untouched
        });
        other.Start();
        other.Join();
        Assert.IsType<InvalidOperationException>(error);
        Assert.False(is_grad_enabled());
        scope.Dispose();
        scope.Dispose(); // a second Dispose is a no-op, not a second decrement
        Assert.True(is_grad_enabled());
    }

    [Fact]
    public void No_grad_records_nothing_and_nests()
    {
        var a = ones(2).requires_grad_();
        using (no_grad())
        {
            using (no_grad()) Assert.False(is_grad_enabled());
            Assert.False(is_grad_enabled());
            var b = a * 2f;
            Assert.False(b.requires_grad);
            Assert.Null(b.grad_fn);
        }
        Assert.True(is_grad_enabled());
        var c = a * 2f;
        Assert.Equal("MulBackward", c.grad_fn);
        Assert.False(c.is_leaf);
        Assert.False(c.detach().requires_grad);
    }

    [Fact]
    public void In_place_on_a_leaf_that_requires_grad_throws_outside_no_grad()
    {
        var a = ones(2).requires_grad_();
        Assert.Throws<InvalidOperationException>(() => a.add_(1));
        using (no_grad()) a.add_(1);
        Assert.Equal(new float[] { 2, 2 }, a.data<float>());
    }

    [Fact]
    public void Backward_accumulates_and_frees_the_graph()
    {
        var a = tensor(new float[] { 1, 2 }).requires_grad_();
        var y = (a * a).sum();
        y.backward();
        Close([2, 4], a.grad!.data<float>());
        (a * 3f).sum().backward();
        Close([5, 7], a.grad!.data<float>());
        Assert.Throws<InvalidOperationException>(() => y.backward());
        var z = (a * a).sum();
        z.backward(retain_graph: true);
        z.backward();
        Close([9, 15], a.grad!.data<float>());
    }

    [Fact]
    public void Manual_seed_reproduces_and_the_first_value_is_pinned()
    {
        manual_seed(42);
        var a = randn(5).data<float>();
        manual_seed(42);
        var b = randn(5).data<float>();
        Assert.Equal(a, b);
        // xoshiro256** seeded by SplitMix64(42), Box-Muller: a change of generator must be noticed.
        Assert.Equal(new Generator(42).NextUInt64(), new Generator(42).NextUInt64());
        Assert.Equal(PinnedFirstNormal, randn([1], new Generator(42)).item<float>());
        var u = rand([1000], new Generator(1)).data<float>();
        Assert.All(u, v => Assert.InRange(v, 0f, 0.99999994f));
        Assert.InRange(u.Average(), 0.47, 0.53);
        var ints = randint(3, 7, [1000], new Generator(2)).data<int>();
        Assert.Equal(new[] { 3, 4, 5, 6 }, ints.Distinct().Order().ToArray());
    }

    // Checked against an independent Python implementation of the same algorithm.
    private const float PinnedFirstNormal = -0.30326306f;

    [Fact]
    public void ToString_like_pytorch()
    {
        Assert.Equal("tensor([[1.0000, 2.5000],\n        [3.0000, 4.0000]])", tensor(new float[] { 1, 2.5f, 3, 4 }, 2, 2).ToString());
        Assert.Equal("tensor([1., 2., 3.], requires_grad=True)", tensor(new float[] { 1, 2, 3 }).requires_grad_().ToString());
        Assert.Equal("tensor(3.5000)", tensor(3.5f).ToString());
        Assert.Equal("tensor([-1.,  2.], grad_fn=<MulBackward>)", (tensor(new float[] { 1, -2 }).requires_grad_() * -1f).ToString());
        // Strings produced by PyTorch 1.13 for the same tensors.
        Assert.Equal("tensor([1., 1., 1.,  ..., 1., 1., 1.])", ones(2000).ToString());
        Assert.Equal("tensor([5.0000e-01, 2.0000e+03])", tensor(new float[] { 0.5f, 2000 }).ToString());
        Assert.Equal("tensor([[1., 1., 1.,  ..., 1., 1., 1.],\n        [1., 1., 1.,  ..., 1., 1., 1.],\n        [1., 1., 1.,  ..., 1., 1., 1.],\n" +
                     "        ...,\n        [1., 1., 1.,  ..., 1., 1., 1.],\n        [1., 1., 1.,  ..., 1., 1., 1.],\n        [1., 1., 1.,  ..., 1., 1., 1.]])",
            ones(40, 40).ToString());
    }

    [Fact]
    public void Item_data_and_factories()
    {
        Assert.Equal(3, tensor(new float[] { 3 }).item<int>());
        Assert.Equal(new long[] { 2, 3 }, full([2, 3], 1.5f).shape);
        Assert.Equal(6, ones(2, 3).sum().item<float>());
        Assert.Equal(new float[] { 0, 2, 4 }, arange(0, 5, 2).data<float>());
        var a = from_array(new float[,] { { 1, 2 }, { 3, 4 } });
        Assert.Equal(new long[] { 2, 2 }, a.shape);
        Assert.Equal(4f, a.select(1, 1).select(0, 1).item<float>());
        Assert.Equal(2L, a.dim());
        Assert.Equal(4L, a.numel());
    }
}

public class BackwardCollectionTests
{
    [Fact]
    public void Backward_collects_once_enough_was_allocated()
    {
        long before = torch.gc_after_backward_mb;
        try
        {
            torch.gc_after_backward_mb = 1;
            var x = torch.randn(512, 1024).requires_grad_(); // 2 MB, so the step allocates well over 1 MB
            int collections = GC.CollectionCount(2);
            x.mul(2f).exp().sum().backward();
            Assert.True(GC.CollectionCount(2) > collections);
        }
        finally
        {
            torch.gc_after_backward_mb = before;
        }
    }
}

public class DeterminismTests
{
    [Fact]
    public void Layer_norm_weight_gradients_do_not_depend_on_thread_timing()
    {
        // 256 rows x 512 is cut into parallel chunks whose partial sums must be added in a fixed order.
        float[] Grad()
        {
            // A private generator: the default one is shared with test classes running in parallel.
            var g = new Generator(4);
            var ln = torch.nn.LayerNorm(512);
            var x = torch.randn([256, 512], g);
            ln.forward(x).mul(torch.randn([256, 512], g)).sum().backward();
            return ln.weight!.grad!.data<float>().Concat(ln.bias!.grad!.data<float>()).ToArray();
        }
        var first = Grad();
        for (int i = 0; i < 5; i++) Assert.Equal(first, Grad());
    }
}
