package onvif

// Element is one element of a parsed envelope. Methods on a nil *Element
// return zero values, so lookups can be chained without checks.
type Element struct {
	Prefix   string // the namespace prefix as written, "" for none
	Local    string // the local name
	Space    string // the namespace URI the prefix is bound to, "" if unbound
	Text     string // the character data directly inside the element, trimmed
	Children []*Element
}

// Child returns the first child element with the given local name, or nil.
func (e *Element) Child(local string) *Element {
	if e == nil {
		return nil
	}
	for _, c := range e.Children {
		if c.Local == local {
			return c
		}
	}
	return nil
}

// All returns the child elements with the given local name.
func (e *Element) All(local string) []*Element {
	if e == nil {
		return nil
	}
	var out []*Element
	for _, c := range e.Children {
		if c.Local == local {
			out = append(out, c)
		}
	}
	return out
}

// Path follows Child through the given local names and returns the element
// reached, or nil.
func (e *Element) Path(locals ...string) *Element {
	for _, l := range locals {
		e = e.Child(l)
	}
	return e
}

// First returns the first child element, or nil.
func (e *Element) First() *Element {
	if e == nil || len(e.Children) == 0 {
		return nil
	}
	return e.Children[0]
}

// Value returns the element's text, or "" for a nil element.
func (e *Element) Value() string {
	if e == nil {
		return ""
	}
	return e.Text
}

// Walk calls fn for e and every element below it, in document order.
func (e *Element) Walk(fn func(*Element)) {
	if e == nil {
		return
	}
	fn(e)
	for _, c := range e.Children {
		c.Walk(fn)
	}
}
