using static MMEureka.Torch.torch;
using static MMEureka.Torch.Tests.GradCheck;

namespace MMEureka.Torch.Tests;

/// <summary>The buffer pool counts what it gets back, so these tests run alone.</summary>
[CollectionDefinition(nameof(BuffersTests), DisableParallelization = true)]
public sealed class BuffersCollection;

[Collection(nameof(BuffersTests))]
public class BuffersTests
{
    /// <summary>Two pre-LN blocks and a head on [4, 64, 64] inputs: activations and gradients of 16K elements and
    /// more, so they go through the pool. Returns every intermediate tensor the caller can see, and the loss.</summary>
    private static (List<Tensor> seen, Tensor loss) Forward(Modules.TransformerBlock[] blocks, Modules.Linear head, Tensor x)
    {
        var seen = new List<Tensor> { x };
        var h = x;
        foreach (var block in blocks)
        {
            var a = block.ln1.forward(h);
            var att = block.attn.forward(a, causal: true);
            h = h + att;
            var b = block.ln2.forward(h);
            var fc1 = block.mlp.fc1.forward(b);
            var act = fc1.gelu();
            var fc2 = block.mlp.fc2.forward(act);
            h = h + fc2;
            seen.AddRange([a, att, b, fc1, act, fc2, h]);
        }
        var logits = head.forward(h);
        seen.Add(logits);
        return (seen, logits.pow(2).mean());
    }

    [Fact]
    public void Recycled_buffers_never_change_a_tensor_the_caller_holds_or_a_later_gradient()
    {
        manual_seed(7);
        var blocks = new[] { nn.TransformerBlock(64, 4), nn.TransformerBlock(64, 4) };
        var head = nn.Linear(64, 64);
        var parameters = blocks.SelectMany(b => b.parameters()).Concat(head.parameters()).ToList();
        var x = Rand(1, 4, 64, 64).requires_grad_();

        long returnedBefore = Buffers.ReturnedCount;
        var (seen, loss) = Forward(blocks, head, x);
        var snapshot = seen.Select(t => t.data<float>()).ToList();
        loss.backward();
        var firstGrads = parameters.Select(p => p.grad!.data<float>()).Append(x.grad!.data<float>()).ToList();
        Assert.True(Buffers.ReturnedCount - returnedBefore >= 10, $"backward recycled only {Buffers.ReturnedCount - returnedBefore} buffers");

        // A second step reuses the recycled buffers; nothing the caller held may change, and the gradients must come
        // out the same (a buffer still in use by the graph would corrupt them).
        foreach (var p in parameters) p.grad = null;
        x.grad = null;
        var (seen2, loss2) = Forward(blocks, head, x);
        loss2.backward();
        for (int i = 0; i < seen.Count; i++) Assert.Equal(snapshot[i], seen[i].data<float>());
        for (int i = 0; i < seen2.Count; i++) Assert.Equal(snapshot[i], seen2[i].data<float>());
        var secondGrads = parameters.Select(p => p.grad!.data<float>()).Append(x.grad!.data<float>()).ToList();
        for (int i = 0; i < firstGrads.Count; i++) Assert.Equal(firstGrads[i], secondGrads[i]);
    }

    [Fact]
    public void A_gradient_passed_on_unchanged_or_shared_by_two_inputs_is_not_recycled_early()
    {
        // y = a + a (both inputs alias one gradient), z = y.view(...) (gradient passed through as a view), and a
        // retained graph walked twice: the leaf gradients must be exact.
        var a = Rand(3, 128, 160).requires_grad_();
        var upstream = Rand(4, 128, 160);
        var z = (a + a).view(160, 128).mul(upstream.view(160, 128)).sum();
        z.backward(retain_graph: true);
        var once = a.grad!.data<float>();
        Assert.Equal(upstream.mul(2).data<float>(), once);
        z.backward();
        Assert.Equal(upstream.mul(4).data<float>(), a.grad!.data<float>());

        // p = w^T and q = v^T both feed p + q, and p also feeds p * u2: the sum's backward hands one gradient to both
        // addends; p's copy is added to p's pending gradient and dropped, while q's copy stays pending and must not be
        // recycled (the next same-sized array, e.g. a transposed copy for w's gradient, would overwrite it).
        var w = Rand(5, 128, 128).requires_grad_();
        var v = Rand(6, 128, 128).requires_grad_();
        var u = Rand(7, 128, 128);
        var u2 = Rand(8, 128, 128);
        var pw = w.t().contiguous();
        var qv = v.t().contiguous();
        ((pw + qv).mul(u).sum() + pw.mul(u2).sum()).backward();
        Assert.Equal(u.t().contiguous().data<float>(), v.grad!.data<float>());
        Assert.Equal(u.add(u2).t().contiguous().data<float>(), w.grad!.data<float>());
    }
}
