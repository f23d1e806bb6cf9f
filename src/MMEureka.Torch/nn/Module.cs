using System.Reflection;

namespace MMEureka.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>
        /// Base of every layer: owns named parameters, buffers and child modules (in registration order), and
        /// derives dotted names ("blocks.0.attn.qkv.weight") for state dicts, like PyTorch's nn.Module.
        /// </summary>
        public abstract class Module
        {
            private readonly List<(string name, Tensor tensor)> _parameters = [];
            private readonly List<(string name, Tensor tensor)> _buffers = [];
            private readonly List<(string name, Module module)> _modules = [];

            /// <summary>Type name, used in error messages.</summary>
            public virtual string GetName() => GetType().Name;

            /// <summary>True after <see cref="train"/>, false after <see cref="eval"/>.</summary>
            public bool training { get; private set; } = true;

            /// <summary>Adds a parameter (a tensor that requires grad) under <paramref name="name"/>.</summary>
            public void register_parameter(string name, Tensor? parameter)
            {
                if (parameter == null) return;
                CheckName(name);
                if (!parameter.requires_grad && parameter.is_leaf) parameter.requires_grad = true;
                _parameters.Add((name, parameter));
            }

            /// <summary>Adds a tensor that is saved in the state dict but not trained.</summary>
            public void register_buffer(string name, Tensor buffer)
            {
                CheckName(name);
                _buffers.Add((name, buffer));
            }

            /// <summary>Adds a child module under <paramref name="name"/>.</summary>
            public void register_module(string name, Module module)
            {
                CheckName(name);
                _modules.Add((name, module));
            }

            private void CheckName(string name)
            {
                if (string.IsNullOrEmpty(name) || name.Contains('.'))
                    throw new ArgumentException($"{GetName()}: invalid member name \"{name}\" (non-empty, no dots)");
                foreach (var (n, _) in _parameters) if (n == name) throw new ArgumentException($"{GetName()}: \"{name}\" is already registered");
                foreach (var (n, _) in _buffers) if (n == name) throw new ArgumentException($"{GetName()}: \"{name}\" is already registered");
                foreach (var (n, _) in _modules) if (n == name) throw new ArgumentException($"{GetName()}: \"{name}\" is already registered");
            }

            /// <summary>Registers the fields of the concrete type by reflection, like TorchSharp: a Module field becomes
            /// a child, a Tensor field a parameter (if it requires grad) or a buffer; the field name is the key
            /// (an auto-property's backing field uses the property name).</summary>
            protected void RegisterComponents()
            {
                var types = new List<Type>();
                for (var t = GetType(); t != null && t != typeof(Module); t = t.BaseType) types.Insert(0, t);
                var registered = new HashSet<object>(ReferenceEqualityComparer.Instance);
                foreach (var (_, p) in _parameters) registered.Add(p);
                foreach (var (_, b) in _buffers) registered.Add(b);
                foreach (var (_, m) in _modules) registered.Add(m);
                foreach (var type in types)
                    foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                    {
                        var value = field.GetValue(this);
                        if (value == null || registered.Contains(value)) continue;
                        string name = field.Name.StartsWith('<') ? field.Name[1..field.Name.IndexOf('>')] : field.Name;
                        if (value is Module m) register_module(name, m);
                        else if (value is Tensor t && t.requires_grad) register_parameter(name, t);
                        else if (value is Tensor b) register_buffer(name, b);
                        else continue;
                        registered.Add(value);
                    }
            }

            /// <summary>Direct children with their names.</summary>
            public IEnumerable<(string name, Module module)> named_children() => _modules;

            /// <summary>Direct children.</summary>
            public IEnumerable<Module> children()
            {
                foreach (var (_, m) in _modules) yield return m;
            }

            /// <summary>This module (name "") and every descendant with its dotted name.</summary>
            public IEnumerable<(string name, Module module)> named_modules()
            {
                yield return ("", this);
                foreach (var (name, child) in _modules)
                    foreach (var (sub, m) in child.named_modules())
                        yield return (sub.Length == 0 ? name : name + "." + sub, m);
            }

            /// <summary>Parameters of this module and (when <paramref name="recurse"/>) its descendants, with dotted names.</summary>
            public IEnumerable<(string name, Tensor parameter)> named_parameters(bool recurse = true)
            {
                foreach (var p in _parameters) yield return p;
                if (!recurse) yield break;
                foreach (var (name, child) in _modules)
                    foreach (var (sub, p) in child.named_parameters())
                        yield return (name + "." + sub, p);
            }

            /// <summary>All trainable tensors.</summary>
            public IEnumerable<Tensor> parameters(bool recurse = true)
            {
                foreach (var (_, p) in named_parameters(recurse)) yield return p;
            }

            /// <summary>Buffers of this module and its descendants, with dotted names.</summary>
            public IEnumerable<(string name, Tensor buffer)> named_buffers()
            {
                foreach (var b in _buffers) yield return b;
                foreach (var (name, child) in _modules)
                    foreach (var (sub, b) in child.named_buffers())
                        yield return (name + "." + sub, b);
            }

            /// <summary>Sets training mode here and in every descendant.</summary>
            public Module train(bool on = true)
            {
                foreach (var (_, m) in named_modules()) m.training = on;
                return this;
            }

            /// <summary>Sets evaluation mode (disables dropout).</summary>
            public Module eval() => train(false);

            /// <summary>Drops the gradients of all parameters (they are rebuilt by the next backward).</summary>
            public void zero_grad()
            {
                foreach (var p in parameters()) p.grad = null;
            }

            /// <summary>Calls <paramref name="fn"/> on every descendant, then on this module.</summary>
            public Module apply(Action<Module> fn)
            {
                foreach (var (_, child) in _modules) child.apply(fn);
                fn(this);
                return this;
            }

            /// <summary>Parameters and buffers by dotted name; the tensors share storage with the module.</summary>
            public Dictionary<string, Tensor> state_dict()
            {
                var dict = new Dictionary<string, Tensor>();
                foreach (var (name, p) in named_parameters()) dict[name] = p.detach();
                foreach (var (name, b) in named_buffers()) dict[name] = b.detach();
                return dict;
            }

            /// <summary>Copies values from <paramref name="dict"/> into the parameters and buffers. A shape mismatch
            /// always throws; with <paramref name="strict"/> missing or unexpected keys throw too (naming them).
            /// Returns the missing and unexpected keys.</summary>
            public (IList<string> missing_keys, IList<string> unexpected_keys) load_state_dict(IDictionary<string, Tensor> dict, bool strict = true)
            {
                var own = new Dictionary<string, Tensor>();
                foreach (var (name, p) in named_parameters()) own[name] = p;
                foreach (var (name, b) in named_buffers()) own[name] = b;
                var missing = new List<string>();
                var unexpected = new List<string>();
                var mismatched = new List<string>();
                foreach (var (name, target) in own)
                {
                    if (!dict.TryGetValue(name, out var source)) missing.Add(name);
                    else if (!source.SameShape(target))
                        mismatched.Add($"{name}: checkpoint {Tensor.ShapeString(source.Sizes)} vs model {Tensor.ShapeString(target.Sizes)}");
                }
                foreach (var name in dict.Keys) if (!own.ContainsKey(name)) unexpected.Add(name);
                var errors = new List<string>();
                if (mismatched.Count > 0) errors.Add("size mismatch for " + string.Join("; ", mismatched));
                if (strict && missing.Count > 0) errors.Add("missing keys: " + string.Join(", ", missing));
                if (strict && unexpected.Count > 0) errors.Add("unexpected keys: " + string.Join(", ", unexpected));
                if (errors.Count > 0) throw new ArgumentException($"load_state_dict into {GetName()} failed: " + string.Join(". ", errors));
                using (no_grad())
                    foreach (var (name, target) in own)
                        if (dict.TryGetValue(name, out var source)) target.copy_(source);
                return (missing, unexpected);
            }
        }

        /// <summary>A module with a single-input forward.</summary>
        public abstract class Module<T, TResult> : Module
        {
            /// <summary>Computes the output.</summary>
            public abstract TResult forward(T input);

            /// <summary>Same as <see cref="forward"/> (TorchSharp's spelling).</summary>
            public TResult call(T input) => forward(input);
        }

        /// <summary>Marks <paramref name="data"/> as a trainable leaf and returns it.</summary>
        public static Tensor Parameter(Tensor data, bool requires_grad = true) => data.detach().requires_grad_(requires_grad);
    }
}
