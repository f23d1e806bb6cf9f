using MMEureka.Torch;
using MMEureka.Torch.Modules;
using static MMEureka.Torch.torch;
using static MMEureka.Torch.Tests.GradCheck;

namespace MMEureka.Torch.Tests;

/// <summary>The KV cache's decoding paths (rows in slots, views over rows, per-row padding ranges) against the
/// paths they replace: a dense key-padding mask, a cache that copies rows, one batch through one cache. Where the
/// batch shapes differ the comparison allows float rounding (OpenBLAS's products round differently at different
/// row counts); where they match it is exact.</summary>
public class KVCacheTests
{
    private const int Vocab = 13, Dim = 16, Heads = 2, Layers = 2, MaxLen = 12;

    /// <summary>A two-layer decoder of TransformerBlocks, seeded.</summary>
    private sealed class Decoder
    {
        private readonly Embedding _tok, _pos;
        private readonly ModuleList<TransformerBlock> _blocks;

        public Decoder(int seed)
        {
            manual_seed(seed);
            _tok = nn.Embedding(Vocab, Dim);
            _pos = nn.Embedding(MaxLen, Dim);
            _blocks = nn.ModuleList(Enumerable.Range(0, Layers).Select(_ => nn.TransformerBlock(Dim, Heads)).ToArray());
        }

        /// <summary>Hidden states [B, T, Dim] of ids [B, T] at positions start..start+T-1.</summary>
        public float[] Forward(int[] ids, int batch, int start, KVCache? cache, Tensor? mask = null)
        {
            using var _ = no_grad();
            int t = ids.Length / batch;
            var pos = new int[ids.Length];
            for (int b = 0; b < batch; b++)
                for (int i = 0; i < t; i++) pos[b * t + i] = start + i;
            var h = _tok.forward(ids, batch, t) + _pos.forward(pos, batch, t);
            for (int l = 0; l < Layers; l++) h = _blocks[l].forward(h, causal: true, mask, cache?[l]);
            return h.data<float>();
        }

        public KVCache Cache(int batch) => new(Layers, batch, Heads, MaxLen, Dim / Heads);

        /// <summary>Hidden states [B, 1, Dim] of one new token per row, row b at position <paramref name="positions"/>[b].</summary>
        public float[] Step(int[] ids, int[] positions, KVCache cache)
        {
            using var _ = no_grad();
            int batch = ids.Length;
            var h = _tok.forward(ids, batch, 1) + _pos.forward(positions, batch, 1);
            for (int l = 0; l < Layers; l++) h = _blocks[l].forward(h, causal: true, null, cache[l]);
            return h.data<float>();
        }
    }

    private static int[] Ids(int seed, int count)
    {
        var g = new Generator(seed);
        return Enumerable.Range(0, count).Select(_ => g.NextInt(Vocab)).ToArray();
    }

    private static float[] Row(float[] hidden, int row, int width) => hidden.AsSpan(row * width, width).ToArray();

    [Theory]
    [InlineData(6)] // prefill: scores by GEMM
    [InlineData(3)] // short prefill: dot products
    public void Padding_ranges_compute_exactly_what_the_dense_mask_computes(int prompt)
    {
        // Row 0 has keys 1..2 padded, row 1 key 4 (when the prompt reaches it), row 2 none.
        var model = new Decoder(1);
        const int B = 3;
        var ids = Ids(2, B * prompt);
        int padEnd1 = Math.Min(5, prompt);
        float[] MaskRow(int b, int tk)
        {
            var m = Enumerable.Repeat(1f, tk).ToArray();
            if (b == 0) for (int j = 1; j < Math.Min(3, tk); j++) m[j] = 0;
            if (b == 1) for (int j = 4; j < Math.Min(padEnd1, tk); j++) m[j] = 0;
            return m;
        }
        Tensor Mask(int tk) => tensor(Enumerable.Range(0, B).SelectMany(b => MaskRow(b, tk)).ToArray(), B, tk);

        var dense = model.Cache(B);
        var ranged = model.Cache(B);
        ranged.mask_keys(0, 1, 2);
        ranged.mask_keys(1, 4, Math.Max(0, padEnd1 - 4));
        Assert.Equal(model.Forward(ids, B, 0, dense, Mask(prompt)), model.Forward(ids, B, 0, ranged));
        for (int step = 0; step < 3; step++)
        {
            var next = Ids(10 + step, B);
            Assert.Equal(model.Forward(next, B, prompt + step, dense, Mask(prompt + step + 1)), model.Forward(next, B, prompt + step, ranged));
        }
    }

    [Fact]
    public void Views_over_rows_decode_what_the_whole_batch_decodes()
    {
        var model = new Decoder(3);
        const int B = 5, T0 = 4;
        var prompt = Ids(4, B * T0);
        var whole = model.Cache(B);
        var split = model.Cache(B);
        model.Forward(prompt, B, 0, whole);
        model.Forward(prompt, B, 0, split);
        for (int step = 0; step < 4; step++)
        {
            var next = Ids(20 + step, B);
            var expected = model.Forward(next, B, T0 + step, whole);
            // rows 0-1 through one view, 2-4 through another (rows 3, 2, 4 in that order), as two shards would
            var a = model.Forward(next[..2], 2, T0 + step, split.select_rows([0, 1]));
            var b = model.Forward([next[3], next[2], next[4]], 3, T0 + step, split.select_rows([3, 2, 4]));
            Close([.. Row(expected, 0, Dim), .. Row(expected, 1, Dim)], a, 1e-6, 1e-5);
            Close([.. Row(expected, 3, Dim), .. Row(expected, 2, Dim), .. Row(expected, 4, Dim)], b, 1e-6, 1e-5);
        }
        Assert.Equal(T0 + 4, split.length);
    }

    [Fact]
    public void Dropping_rows_renumbers_them_and_decoding_goes_on_as_with_a_copied_cache()
    {
        var model = new Decoder(5);
        const int B = 4, T0 = 3;
        var prompt = Ids(6, B * T0);
        var cache = model.Cache(B);
        model.Forward(prompt, B, 0, cache);
        cache.index_select([3, 1]); // distinct rows: slots 3 and 1 are read in place
        var next = Ids(7, 2);
        var got = model.Forward(next, 2, T0, cache);

        // Reference: a fresh cache holding only rows 3 and 1 from the start.
        var fresh = model.Cache(2);
        model.Forward(prompt[(3 * T0)..(4 * T0)].Concat(prompt[T0..(2 * T0)]).ToArray(), 2, 0, fresh);
        Close(model.Forward(next, 2, T0, fresh), got, 1e-6, 1e-5);

        // The tensor API of a renumbered layer gathers its rows in batch order.
        var layer = cache[0];
        var (keys, _) = layer.append(zeros(2, Heads, 1, Dim / Heads), zeros(2, Heads, 1, Dim / Heads));
        Assert.Equal([2L, Heads, T0 + 2, Dim / Heads], keys.shape);
    }

    [Fact]
    public void Repeated_rows_get_copies_that_then_decode_apart()
    {
        var model = new Decoder(7);
        const int T0 = 4;
        var prompt = Ids(8, 2 * T0);
        var cache = model.Cache(2);
        cache.mask_keys(1, 0, 1); // padding travels with the copies
        model.Forward(prompt, 2, 0, cache);
        cache.index_select([1, 0, 1, 1]);
        Assert.Equal(4, cache.batch_size);
        var next = Ids(9, 4); // each copy continues with its own token
        var got = model.Forward(next, 4, T0, cache);

        var mask = tensor(new float[] { 0, 1, 1, 1, 1 }, 1, T0 + 1);
        var firstMask = mask.narrow(1, 0, T0);
        for (int r = 0; r < 4; r++)
        {
            int source = r == 1 ? 0 : 1;
            var alone = model.Cache(1);
            model.Forward(prompt[(source * T0)..((source + 1) * T0)], 1, 0, alone, source == 1 ? firstMask : null);
            var expected = model.Forward([next[r]], 1, T0, alone, source == 1 ? mask : null);
            Close(expected, Row(got, r, Dim), 1e-6, 1e-5);
        }
    }

    [Fact]
    public void Rows_started_by_copy_row_decode_at_their_own_lengths_what_they_decode_alone()
    {
        // Row A holds 3 positions (key 1 padding), row B 6; copied into slots 2 and 0 of a third cache, they decode
        // together, B first, each after its own positions. Under inference_mode every op is row by row, so each row
        // must give exactly the bits it gives decoding on alone in its own cache.
        using var mode = inference_mode();
        var model = new Decoder(11);
        var (promptA, promptB) = (Ids(12, 3), Ids(13, 6));
        var aloneA = model.Cache(1);
        aloneA.mask_keys(0, 1, 1);
        model.Forward(promptA, 1, 0, aloneA);
        var aloneB = model.Cache(1);
        model.Forward(promptB, 1, 0, aloneB);
        var together = model.Cache(3);
        together.copy_row(aloneB, 0, 0);
        together.copy_row(aloneA, 0, 2);
        var view = together.select_rows([0, 2]);
        for (int step = 0; step < 4; step++)
        {
            var next = Ids(30 + step, 2);
            var got = model.Step(next, [6 + step, 3 + step], view);
            var b = model.Step([next[0]], [6 + step], aloneB);
            var a = model.Step([next[1]], [3 + step], aloneA);
            Assert.Equal(b, Row(got, 0, Dim));
            Assert.Equal(a, Row(got, 1, Dim));
        }

        // The copy carried A's padding: without it, A decodes something else.
        var unpadded = model.Cache(1);
        model.Forward(promptA, 1, 0, unpadded);
        var fresh = model.Cache(1);
        fresh.copy_row(aloneA, 0, 0);
        Assert.NotEqual(model.Step([1], [3], unpadded), model.Step([1], [3], fresh));
    }

    [Fact]
    public void Copy_row_checks_shapes_and_rows_of_different_lengths_append_one_position_at_a_time()
    {
        var model = new Decoder(13);
        var shortRow = model.Cache(1);
        model.Forward(Ids(1, 2), 1, 0, shortRow);
        var longRow = model.Cache(1);
        model.Forward(Ids(2, 5), 1, 0, longRow);
        var cache = model.Cache(2);
        cache.copy_row(shortRow, 0, 0);
        cache.copy_row(longRow, 0, 1);
        var e = Assert.Throws<InvalidOperationException>(() => model.Forward(Ids(3, 4), 2, 5, cache)); // two positions each
        Assert.Contains("different lengths", e.Message);
        Assert.Throws<ArgumentException>(() => new KVCache(Layers, 1, Heads * 2, MaxLen, Dim / Heads / 2).copy_row(shortRow, 0, 0));
        Assert.Throws<ArgumentException>(() => new KVCache(Layers + 1, 1, Heads, MaxLen, Dim / Heads).copy_row(shortRow, 0, 0));
        Assert.Throws<InvalidOperationException>(() => new KVCache(Layers, 1, Heads, 4, Dim / Heads).copy_row(longRow, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.copy_row(longRow, 1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.copy_row(longRow, 0, 2));
    }

    [Fact]
    public void Rejects_views_that_share_a_row_and_padding_outside_the_capacity()
    {
        var cache = new KVCache(1, 3, 2, 8, 4);
        Assert.Throws<ArgumentException>(() => cache.select_rows([0, 0]));
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.select_rows([3]));
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.mask_keys(0, 6, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.index_select([0, 5]));
    }

    [Fact]
    public void Views_that_append_different_positions_are_caught()
    {
        var model = new Decoder(9);
        var cache = model.Cache(2);
        model.Forward(Ids(1, 2), 1, 0, cache.select_rows([0])); // row 0 holds one position, row 1 none
        var e = Assert.Throws<InvalidOperationException>(() => model.Forward(Ids(2, 2), 2, 1, cache));
        Assert.Contains("different lengths", e.Message);
    }
}

/// <summary>The decoding scores' four- and eight-keys-at-once dot products against the one-key one they replaced.</summary>
public class DecodingDotTests
{
    [Theory]
    [InlineData(32)] // the text decoder's head width
    [InlineData(24)] // the vision encoder's: one 16-lane block and an 8-lane tail
    [InlineData(8)]
    public void Four_keys_at_once_give_the_one_key_dot_products_bit_for_bit(int d)
    {
        if (!System.Runtime.Intrinsics.X86.Avx.IsSupported) return; // the four-key path runs only with AVX
        var g = new Generator(d);
        const int ld = 40;
        var q = Enumerable.Range(0, d).Select(_ => (float)(g.NextDouble() * 2 - 1) * 3).ToArray();
        var k = Enumerable.Range(0, 4 * ld).Select(_ => (float)(g.NextDouble() * 2 - 1) * 3).ToArray();
        var four = FusedAttention.Dot4(ref q[0], ref k[0], ld, d);
        for (int j = 0; j < 4; j++)
            Assert.Equal(BitConverter.SingleToInt32Bits(FusedAttention.Dot(ref q[0], ref k[j * ld], d)), BitConverter.SingleToInt32Bits(four[j]));
    }

    [Theory]
    [InlineData(32, 32)] // the text decoder's head width, rows end to end as in a KV cache
    [InlineData(32, 40)]
    [InlineData(24, 24)]
    [InlineData(8, 8)]
    public void Eight_keys_at_once_give_the_one_key_dot_products_bit_for_bit(int d, int ld)
    {
        if (!System.Runtime.Intrinsics.X86.Avx.IsSupported) return; // the eight-key path runs only with AVX
        var g = new Generator(d + ld);
        var q = Enumerable.Range(0, d).Select(_ => (float)(g.NextDouble() * 2 - 1) * 3).ToArray();
        var k = Enumerable.Range(0, 8 * ld).Select(_ => (float)(g.NextDouble() * 2 - 1) * 3).ToArray();
        var eight = FusedAttention.Dot8(ref q[0], ref k[0], ld, d);
        for (int j = 0; j < 8; j++)
            Assert.Equal(BitConverter.SingleToInt32Bits(FusedAttention.Dot(ref q[0], ref k[j * ld], d)), BitConverter.SingleToInt32Bits(eight[j]));
    }
}
