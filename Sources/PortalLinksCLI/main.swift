import ArgumentParser
import PortalLinks
print("x")
