using MMEureka.Torch;
using static MMEureka.Torch.torch;
using static MMEureka.Torch.Tests.GradCheck;

namespace MMEureka.Torch.Tests;

/// <summary>A block's forward of the last position only (a sampler's prefill) against its full forward: the same
/// output at that position up to float rounding, and the same keys and values left in the cache.</summary>
public class ForwardLastTests
{
    [Theory]
    [InlineData(true, 0)]  // packed products, fused residual adds
    [InlineData(false, 0)] // no_grad, the plain ops
    [InlineData(true, 2)]  // after a cached prefix, with padding keys
    public void Last_position_equals_the_full_forward_and_the_cache_is_the_same(bool inference, int prefix)
    {
        using var mode = inference ? inference_mode() : no_grad();
        manual_seed(31);
        var block = nn.TransformerBlock(16, 2);
        const int B = 3, T = 7;
        var full = new KVCache(1, B, 2, 12, 8);
        var last = new KVCache(1, B, 2, 12, 8);
        if (prefix > 0)
        {
            var p = randn([B, prefix, 16], new Generator(3));
            foreach (var cache in new[] { full, last })
            {
                cache.mask_keys(1, 0, 1);
                block.forward(p, causal: true, null, cache[0]);
            }
        }
        var x = randn([B, T, 16], new Generator(4)) * 2f;
        var expected = block.forward(x, causal: true, null, full[0]).narrow(1, T - 1, 1).contiguous().data<float>();
        var got = block.forward_last(x, last[0]);
        Assert.Equal([(long)B, 1, 16], got.shape);
        Close(expected, got.data<float>(), 1e-5, 1e-5);
        // A different block output at any earlier position would mean the wrong query: check that one differs.
        var first = block.forward(x.narrow(1, 0, 1).contiguous(), causal: true, null, null).data<float>();
        Assert.True(first.Zip(got.data<float>()).Max(z => Math.Abs(z.First - z.Second)) > 1e-2);
        Assert.Equal(full.length, last.length);
        // The cached keys and values are the same bits: the next decoding step through each gives the same output.
        var next = randn([B, 1, 16], new Generator(5));
        Assert.Equal(block.forward(next, causal: true, null, full[0]).data<float>(), block.forward(next, causal: true, null, last[0]).data<float>());
    }

    [Fact]
    public void Last_query_attention_rejects_what_it_cannot_do()
    {
        var qkv = randn([2, 3, 12]);
        Assert.Throws<ArgumentException>(() => FusedAttention.SelfAttention(qkv, 2, causal: true, null, null, lastQueryOnly: true));
        var cache = new KVCache(1, 2, 2, 8, 2);
        Assert.Throws<ArgumentException>(() => FusedAttention.SelfAttention(qkv, 2, causal: false, null, cache[0], lastQueryOnly: true));
    }
}
