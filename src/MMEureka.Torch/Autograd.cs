namespace MMEureka.Torch;

/// <summary>
/// One recorded operation: the tensors it read (its parents in the graph) and a closure that maps the gradient
/// of its result to gradients of those parents (null where a parent needs none).
/// </summary>
internal sealed class Node(string name, Tensor[] inputs, Func<Tensor, Tensor?[]> backward)
{
    public readonly string Name = name;
    public Tensor[]? Inputs = inputs;
    public Func<Tensor, Tensor?[]>? Backward = backward;

    /// <summary>Drops the saved tensors so that a finished step does not keep activations alive.</summary>
    public void Release()
    {
        Inputs = null;
        Backward = null;
    }
}

/// <summary>Reverse-mode automatic differentiation: recording (tape as a DAG of <see cref="Node"/>s) and backward.</summary>
internal static class Autograd
{
    [ThreadStatic] private static int _noGradDepth;

    /// <summary>False inside <c>torch.no_grad()</c> on this thread.</summary>
    public static bool Enabled => _noGradDepth == 0;

    public static IDisposable NoGrad()
    {
        _noGradDepth++;
        return new Restore();
    }

    private sealed class Restore : IDisposable
    {
        private bool _done;
        public void Dispose()
        {
            if (_done) return;
            _done = true;
            _noGradDepth--;
        }
    }

    /// <summary>Attaches a node to <paramref name="result"/> when grad mode is on and any input requires grad.</summary>
    public static Tensor Record(Tensor result, string name, Tensor[] inputs, Func<Tensor, Tensor?[]> backward)
    {
        if (!Enabled) return result;
        bool any = false;
        foreach (var t in inputs) any |= t.requires_grad;
        if (!any) return result;
        result.Node = new Node(name, inputs, backward);
        result.requires_grad = true;
        return result;
    }

    public static void Backward(Tensor root, Tensor? gradient, bool retainGraph)
    {
        if (!root.requires_grad)
            throw new InvalidOperationException("backward(): the tensor does not require grad and has no grad_fn");
        if (gradient == null)
        {
            if (root.Numel != 1) throw new InvalidOperationException($"backward() without a gradient needs a one-element tensor, got shape {Tensor.ShapeString(root.Sizes)}");
            gradient = new Tensor([1f], (int[])root.Sizes.Clone());
        }
        else if (!gradient.SameShape(root))
            throw new ArgumentException($"backward(): gradient shape {Tensor.ShapeString(gradient.Sizes)} does not match tensor shape {Tensor.ShapeString(root.Sizes)}");

        var order = TopologicalOrder(root);
        var grads = new Dictionary<Tensor, Tensor>(ReferenceEqualityComparer.Instance) { [root] = gradient };
        using var _ = NoGrad();
        foreach (var t in order)
        {
            if (!grads.Remove(t, out var g)) continue;
            var node = t.Node;
            if (node == null)
            {
                // A leaf: accumulate (into a private copy, since g may be shared with other branches).
                if (t.grad == null) t.grad = new Tensor(g.ToArray(), (int[])t.Sizes.Clone());
                else t.grad.add_(g);
                continue;
            }
            if (node.Backward == null || node.Inputs == null)
                throw new InvalidOperationException($"backward() through {node.Name} a second time: its saved tensors were freed; pass retain_graph: true to the first backward()");
            var inputs = node.Inputs;
            var inputGrads = node.Backward(g);
            for (int i = 0; i < inputs.Length; i++)
            {
                var gi = inputGrads[i];
                var x = inputs[i];
                if (gi == null || !x.requires_grad) continue;
                if (!gi.SameShape(x))
                    throw new InvalidOperationException($"{node.Name} produced a gradient of shape {Tensor.ShapeString(gi.Sizes)} for an input of shape {Tensor.ShapeString(x.Sizes)}");
                grads[x] = grads.TryGetValue(x, out var prev) ? prev.add(gi) : gi;
            }
            if (!retainGraph) node.Release();
        }
    }

    /// <summary>Tensors reachable from the root, each after every tensor that consumes it (reverse post-order).</summary>
    private static List<Tensor> TopologicalOrder(Tensor root)
    {
        var visited = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var postOrder = new List<Tensor>();
        var stack = new Stack<(Tensor t, int next)>();
        stack.Push((root, 0));
        visited.Add(root);
        while (stack.Count > 0)
        {
            var (t, next) = stack.Pop();
            var inputs = t.Node?.Inputs;
            if (inputs != null && next < inputs.Length)
            {
                stack.Push((t, next + 1));
                var child = inputs[next];
                if (child.requires_grad && visited.Add(child)) stack.Push((child, 0));
            }
            else postOrder.Add(t);
        }
        postOrder.Reverse();
        return postOrder;
    }
}
