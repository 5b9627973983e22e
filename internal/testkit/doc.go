// Package testkit holds helpers shared by RedRTC's tests.
package testkit
