using MMEureka.Torch;
using MMEureka.Torch.Modules;
using static MMEureka.Torch.torch;
using static MMEureka.Torch.Tests.GradCheck;
using F = MMEureka.Torch.torch.nn.functional;

namespace MMEureka.Torch.Tests;

public class AttentionTests
{
    /// <summary>softmax(q k^T / sqrt(d) + mask) v from small ops, with an explicit visibility matrix.</summary>
    private static Tensor Reference(Tensor q, Tensor k, Tensor v, bool causal, Tensor? padding)
    {
        long B = q.size(0), Tq = q.size(2), Tk = k.size(2);
        var visible = new float[B * Tq * Tk];
        var pad = padding?.data<float>();
        for (int b = 0; b < B; b++)
            for (int i = 0; i < Tq; i++)
                for (int j = 0; j < Tk; j++)
                    visible[(b * Tq + i) * Tk + j] = (!causal || j <= Tk - Tq + i) && (pad == null || pad[b * Tk + j] != 0) ? 1 : 0;
        var mask = tensor(visible, B, 1, Tq, Tk);
        var scores = q.matmul(k.transpose(-2, -1)).div(MathF.Sqrt(q.size(3))).masked_fill(mask.eq(0), -1e9f);
        return scores.softmax(-1).mul(mask).matmul(v); // rows with nothing visible become 0
    }

    [Theory]
    [InlineData(false, false, 3, 3)]
    [InlineData(true, false, 4, 4)]
    [InlineData(true, false, 2, 5)]
    [InlineData(false, true, 3, 4)]
    [InlineData(true, true, 4, 4)]
    // More than four queries per head: scores and outputs by GEMM instead of dot products.
    [InlineData(true, true, 6, 6)]
    [InlineData(true, false, 5, 7)]
    [InlineData(false, true, 6, 5)]
    // More queries than keys under a causal mask: the first rows see no key and come out as zeros.
    [InlineData(true, false, 4, 2)]
    [InlineData(true, true, 6, 3)]
    // Several blocks of 32 queries, each multiplied only with the keys it sees (causal), with a cache-like offset,
    // and more queries than keys.
    [InlineData(true, true, 70, 70)]
    [InlineData(true, false, 40, 75)]
    [InlineData(false, true, 66, 33)]
    [InlineData(true, false, 75, 40)]
    public void Fused_attention_matches_reference_and_finite_differences(bool causal, bool padded, int tq, int tk)
    {
        // Row 0 is left-padded (key 0 hidden), row 1 hides its second-to-last key.
        var padding = padded ? tensor(Enumerable.Range(0, 2 * tk).Select(i => i == 0 || i == 2 * tk - 2 ? 0f : 1f).ToArray(), 2, tk) : null;
        var q = Rand(1, 2, 2, tq, 3);
        var k = Rand(2, 2, 2, tk, 3);
        var v = Rand(3, 2, 2, tk, 3);
        Close(Reference(q, k, v, causal, padding).data<float>(),
            F.scaled_dot_product_attention(q, k, v, causal, padding).data<float>(), 1e-5, 1e-4);
        Check(x => F.scaled_dot_product_attention(x[0], x[1], x[2], causal, padding), q, k, v);
    }

    [Fact]
    public void Attention_reads_strided_head_views()
    {
        // q, k, v as [B, H, T, D] views into one [B, T, 3, H, D] buffer, as the attention module builds them.
        Check(x =>
        {
            var heads = x[0].view(2, 3, 3, 2, 2);
            return F.scaled_dot_product_attention(heads.select(2, 0).transpose(1, 2), heads.select(2, 1).transpose(1, 2),
                heads.select(2, 2).transpose(1, 2), is_causal: true);
        }, Rand(4, 2, 3, 12));
    }

    [Fact]
    public void A_query_with_no_visible_key_gives_zeros_not_nan()
    {
        var q = Rand(1, 1, 1, 2, 4).requires_grad_();
        var k = Rand(2, 1, 1, 2, 4).requires_grad_();
        var v = Rand(3, 1, 1, 2, 4).requires_grad_();
        var y = F.scaled_dot_product_attention(q, k, v, false, tensor(new float[] { 0, 0 }, 1, 2));
        Assert.All(y.data<float>(), value => Assert.Equal(0f, value));
        y.sum().backward();
        Assert.All(q.grad!.data<float>(), value => Assert.False(float.IsNaN(value)));
    }

    [Fact]
    public void Transformer_block_gradients_for_every_parameter_and_the_input()
    {
        manual_seed(7);
        var block = nn.TransformerBlock(8, 2);
        var names = block.named_parameters().Select(p => p.name).ToArray();
        Assert.Equal(new[]
        {
            "ln1.weight", "ln1.bias", "attn.qkv.weight", "attn.qkv.bias", "attn.proj.weight", "attn.proj.bias",
            "ln2.weight", "ln2.bias", "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias",
        }, names);
        var x = Rand(5, 2, 3, 8);
        var mask = tensor(new float[] { 1, 1, 1, 0, 1, 1 }, 2, 3);
        Check(xs => block.forward(xs[0], causal: true, keyPaddingMask: mask), [x, .. block.parameters()]);
    }

    [Fact]
    public void Transformer_block_gradients_with_more_than_four_positions()
    {
        manual_seed(8);
        var block = nn.TransformerBlock(8, 2);
        var x = Rand(6, 2, 6, 8);
        var mask = tensor(new float[] { 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1 }, 2, 6);
        Check(xs => block.forward(xs[0], causal: true, keyPaddingMask: mask), [x, .. block.parameters()]);
        Check(xs => block.forward(xs[0], causal: false), [x, .. block.parameters()]);
    }

    [Fact]
    public void Packed_append_rejects_a_batch_other_than_the_caches()
    {
        var cache = new KVCache(1, 2, 2, 8, 4)[0];
        var qkv = Rand(5, 3, 1, 3 * 2 * 4); // 3 rows, the cache holds 2
        var e = Assert.Throws<ArgumentException>(() => { using (no_grad()) FusedAttention.SelfAttention(qkv, 2, causal: true, null, cache); });
        Assert.Contains("3 rows", e.Message);
        Assert.Equal(0, cache.length);
    }

    [Theory]
    [InlineData(2, false, 3)]
    [InlineData(2, true, 3)]
    [InlineData(6, false, 3)]
    [InlineData(6, true, 3)]
    [InlineData(1, true, 20)]  // decoding: dot products over 8-lane blocks plus a 4-element tail
    [InlineData(1, true, 40)]  // decoding: a 32-lane block of output registers, then an 8-lane one
    [InlineData(2, true, 33)]
    [InlineData(3, false, 20)]
    [InlineData(6, false, 20)]
    public void Packed_self_attention_matches_split_heads_and_sdpa(int T, bool cached, int hd)
    {
        // qkv [B, T, 3 * H * hd] with H = 2. Cached: three earlier positions are in the cache first, and the keys and
        // values carry no gradient (as when appended through KVCacheLayer.append), so the reference detaches them.
        const int B = 2, H = 2, P = 3;
        int D = H * hd;
        var qkv = Rand(20 + T, B, T, 3 * D).requires_grad_();
        var prefix = Rand(40 + T, B, P, 3 * D);
        var upstream = Rand(30 + T, B, T, D);
        KVCacheLayer? cache = null;
        if (cached)
        {
            cache = new KVCache(1, B, H, P + T, hd)[0];
            using (no_grad()) FusedAttention.SelfAttention(prefix, H, causal: true, null, cache);
        }
        var y = FusedAttention.SelfAttention(qkv, H, causal: true, null, cache);
        y.mul(upstream).sum().backward();
        var got = qkv.grad!.data<float>();
        qkv.grad = null;

        var all = cached ? torch.cat(new[] { prefix, qkv }, 1) : qkv;
        var heads = all.view(B, cached ? P + T : T, 3, H, hd);
        Tensor Part(int i) => heads.select(2, i).transpose(1, 2);
        var q = cached ? Part(0).narrow(2, P, T) : Part(0);
        var (k, v) = cached ? (Part(1).detach(), Part(2).detach()) : (Part(1), Part(2));
        var reference = Reference(q, k, v, causal: true, null).transpose(1, 2).reshape(B, T, D); // small ops, not the fused kernel
        reference.mul(upstream).sum().backward();
        Close(reference.data<float>(), y.data<float>(), 1e-6, 1e-5);
        Close(qkv.grad!.data<float>(), got, 1e-6, 1e-5);
        Assert.Contains(got, g => g != 0);
    }

    [Theory]
    [InlineData(1, 20)] // decoding: weighted value rows over two 8-lane blocks plus a 4-element tail
    [InlineData(3, 8)]
    [InlineData(2, 3)]
    [InlineData(1, 41)]
    public void Decoding_without_grad_matches_the_recorded_path_with_padding(int T, int hd)
    {
        // Under no_grad the decoding path leaves the probabilities unnormalised and scales the output instead; the
        // recorded path (checked against small ops above) normalises them. Key 1 of row 0 and key 4 of row 1 are padding.
        const int B = 2, H = 2, P = 4;
        int D = H * hd;
        var prefix = Rand(50 + T, B, P, 3 * D);
        var qkv = Rand(60 + T, B, T, 3 * D);
        var maskData = new float[B * (P + T)];
        Array.Fill(maskData, 1f);
        maskData[1] = 0;
        maskData[(P + T) + 4] = 0;
        var mask = tensor(maskData, B, P + T);
        float[] Run(bool grad)
        {
            var cache = new KVCache(1, B, H, P + T, hd)[0];
            using (no_grad()) FusedAttention.SelfAttention(prefix, H, causal: true, mask.narrow(1, 0, P), cache);
            var x = grad ? qkv.detach().requires_grad_() : qkv;
            if (grad) return FusedAttention.SelfAttention(x, H, causal: true, mask, cache).data<float>();
            using (no_grad()) return FusedAttention.SelfAttention(x, H, causal: true, mask, cache).data<float>();
        }
        var recorded = Run(grad: true);
        var decoded = Run(grad: false);
        Close(recorded, decoded, 1e-6, 1e-5);
        Assert.Contains(decoded, v => v != 0);
    }

    [Fact]
    public void Kv_cache_decoding_matches_a_full_causal_forward()
    {
        manual_seed(3);
        const int vocab = 11, dim = 16, heads = 2, layers = 2, T = 7;
        var tok = nn.Embedding(vocab, dim);
        var pos = nn.Embedding(T, dim);
        var blocks = nn.ModuleList(Enumerable.Range(0, layers).Select(_ => nn.TransformerBlock(dim, heads)).ToArray());
        var head = nn.Linear(dim, vocab, hasBias: false);
        int[] ids = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7];

        Tensor Forward(int[] batchIds, int start, int length, KVCache? cache)
        {
            var posIds = new int[2 * length];
            for (int b = 0; b < 2; b++)
                for (int t = 0; t < length; t++) posIds[b * length + t] = start + t;
            var h = tok.forward(batchIds, 2, length) + pos.forward(posIds, 2, length);
            for (int l = 0; l < layers; l++) h = blocks[l].forward(h, causal: true, cache: cache?[l]);
            return head.forward(h);
        }

        using var _ = no_grad();
        var full = Forward(ids, 0, T, null); // [2, T, vocab]
        var kv = new KVCache(layers, 2, heads, T, dim / heads);
        int prompt = 3;
        var promptIds = new[] { ids[0], ids[1], ids[2], ids[7], ids[8], ids[9] };
        var logits = Forward(promptIds, 0, prompt, kv);
        Close(full.narrow(1, 0, prompt).data<float>(), logits.data<float>(), 1e-4, 1e-4);
        for (int t = prompt; t < T; t++)
        {
            var step = Forward([ids[t], ids[T + t]], t, 1, kv);
            Close(full.narrow(1, t, 1).data<float>(), step.data<float>(), 1e-4, 1e-4);
        }
        Assert.Equal(T, kv.length);

        // Reordering batch rows of the cache: decoding the last position for rows (1, 0) swaps the outputs.
        kv.reset();
        Forward(ids[..(T - 1)].Concat(ids[T..(2 * T - 1)]).ToArray(), 0, T - 1, kv);
        kv.index_select([1, 0]);
        var swapped = Forward([ids[2 * T - 1], ids[T - 1]], T - 1, 1, kv);
        Close(full.narrow(1, T - 1, 1).index_select(0, new[] { 1, 0 }).data<float>(), swapped.data<float>(), 1e-4, 1e-4);
    }
}
