using MMEureka.Torch;
using static MMEureka.Torch.torch;

namespace MMEureka.Torch.Tests;

/// <summary>The transformer block's inference path (residual adds in place, the second add fused with ln2) against
/// the same ops run one by one under inference_mode: the same bits.</summary>
public class ResidualNormTests
{
    [Theory]
    [InlineData(3, 5, false)] // a prefill-like forward, no cache
    [InlineData(4, 1, true)]  // decoding one position after a cached prefix
    public void Inference_block_gives_the_bits_of_the_ops_one_by_one(int batch, int t, bool cached)
    {
        using var mode = inference_mode();
        manual_seed(21);
        var block = nn.TransformerBlock(16, 2);
        // LayerNorm weights and biases away from 1 and 0, so that a norm with the wrong parameters shows.
        using (no_grad())
        {
            block.ln2.weight!.copy_(randn([16], new Generator(5)));
            block.ln2.bias!.copy_(randn([16], new Generator(6)));
            block.ln1.weight!.copy_(randn([16], new Generator(7)));
        }
        KVCache? fused = null, plain = null;
        if (cached)
        {
            fused = new KVCache(1, batch, 2, 8, 8);
            plain = new KVCache(1, batch, 2, 8, 8);
            var prefix = randn([batch, 3, 16], new Generator(8));
            block.forward(prefix, causal: true, null, fused[0]);
            OneByOne(block, prefix, plain[0]);
        }
        var x = randn([batch, t, 16], new Generator(9)) * 3f;
        var got = block.forward(x, causal: true, null, fused?[0]).data<float>();
        var expected = OneByOne(block, x, plain?[0]).data<float>();
        Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), got.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(x.shape, block.forward(x.clone(), causal: false).shape);
    }

    /// <summary>x + attn(ln1(x)), then that + mlp(ln2(that)), op by op.</summary>
    private static Tensor OneByOne(MMEureka.Torch.Modules.TransformerBlock block, Tensor x, KVCacheLayer? cache)
    {
        var x1 = x + block.attn.forward(block.ln1.forward(x), causal: true, null, cache);
        return x1 + block.mlp.forward(block.ln2.forward(x1));
    }
}
