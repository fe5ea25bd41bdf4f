// Package intern shares the strings of decoded Kubernetes objects.
//
// An informer keeps every object it watches decoded as nested maps, and
// every key ("metadata", "f:spec", "apiVersion") and most short values
// ("apps/v1", "Deployment", "Update") are separate copies in each object.
// Object replaces them with one shared copy each, which is what thousands
// of watched objects of a few shapes mostly consist of.
package intern
